import { jetstreamManager } from "@nats-io/jetstream";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ShoalClient } from "../src/client.js";
import { waitFor } from "./kit/index.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";

const MEMBER_TTL = 3000;
const clusters: TestCluster[] = [];

async function cluster(prefix: string, ids: string[]): Promise<TestCluster> {
  const c = await TestCluster.create(inject("natsUrl"), uniqueCluster(prefix));
  clusters.push(c);
  for (const id of ids) c.start(id);
  await c.waitStable(ids);
  return c;
}

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.close()));
});

describe("a cluster of real node processes on a real nats-server", () => {
  it("elects exactly one leader and agrees on one balanced map", async () => {
    const c = await cluster("elect", ["n1", "n2", "n3"]);
    const s = await c.waitStable();
    expect(s.filter((x) => x.isLeader)).toHaveLength(1);
    expect(new Set(s.map((x) => x.epoch)).size).toBe(1);
    for (const x of s) expect(x.shards).toBeGreaterThanOrEqual(21); // 64 shards over 3 nodes: 21 or 22 each
    expect(c.events.filter((e) => e.type === "leader.elected")).toHaveLength(1);
  });

  it("replaces a SIGKILLed leader within memberTtl + 1 s, with a higher epoch", async () => {
    const c = await cluster("kill", ["n1", "n2", "n3"]);
    const before = (await c.waitStable())[0]!;
    const leader = c.nodes.get(before.leader!)!;
    const killedAt = Date.now();
    await leader.kill();
    const survivors = c.running().map((n) => n.id);
    let elapsed = 0;
    await waitFor(
      async () => {
        const s = await c.statuses(survivors);
        const ok = s.some((x) => x.isLeader && x.epoch! > before.epoch!);
        if (ok) elapsed = Date.now() - killedAt;
        return ok;
      },
      { timeout: MEMBER_TTL + 1000, interval: 25, message: "no new leader within memberTtl + 1 s" },
    );
    expect(elapsed).toBeLessThanOrEqual(MEMBER_TTL + 1000);
    const after = await c.waitStable(survivors);
    expect(after[0]!.leader).not.toBe(before.leader);
    expect(after[0]!.epoch!).toBeGreaterThan(before.epoch!);
    // The dead node's shards were handed to the survivors: 64 shards over 2 nodes.
    expect(after.map((x) => x.shards).sort()).toEqual([32, 32]);
  });

  it("fences a SIGSTOPped leader: after SIGCONT it steps down and never overwrites the newer map", async () => {
    const c = await cluster("stop", ["n1", "n2", "n3"]);
    const before = (await c.waitStable())[0]!;
    const old = c.nodes.get(before.leader!)!;
    old.signal("SIGSTOP");
    const others = c
      .running()
      .map((n) => n.id)
      .filter((id) => id !== old.id);
    const mid = await c.waitStable(others);
    const newEpoch = mid[0]!.epoch!;
    expect(newEpoch).toBeGreaterThan(before.epoch!);
    const mapsBefore = c.mapEvents().length;
    old.signal("SIGCONT");
    await old.waitForLog("stepped down");
    const after = await c.waitStable([...others, old.id]);
    expect(after.find((x) => x.node === old.id)!.isLeader).toBe(false);
    expect(new Set(after.map((x) => x.epoch))).toEqual(new Set([newEpoch]));
    // Every map written since the pause carries the new epoch: the old leader wrote none.
    const since = c.mapEvents().slice(mapsBefore);
    expect(since.every((e) => e.epoch === newEpoch && e.node !== old.id)).toBe(true);
    expect(after[0]!.mapEpoch).toBe(newEpoch);
  });

  it("turns one join and one leave into maps of at most 3 handoffs each, moving exactly the shards needed, held by every node", async () => {
    const c = await cluster("join", ["n1", "n2", "n3"]);
    const start = await c.waitStable();
    const v0 = start[0]!.mapVersion!;
    const maps0 = c.mapEvents().length;

    c.start("n4");
    await waitFor(() => c.mapEvents().length > maps0, { timeout: 15_000, message: "no map after the join" });
    // The leader moves live shards in steps (3 handoffs per map by default), each once the last one's handoffs ended.
    const joined = await c.waitStable(["n1", "n2", "n3", "n4"]);
    const joinMaps = c.mapEvents().slice(maps0);
    expect(joinMaps.map((e) => e.version)).toEqual(joinMaps.map((_, i) => v0 + 1 + i));
    expect(joinMaps.every((e) => e.moves >= 1 && e.moves <= 3)).toBe(true);
    expect(joinMaps.reduce((n, e) => n + e.moves, 0)).toBe(16); // 64/4: exactly what the newcomer needs
    expect(joined[0]!.mapVersion).toBe(v0 + joinMaps.length);

    // The leader leaves: the harder case (a new leader must plan the leave, once).
    const leaver = (await c.waitStable(["n1", "n2", "n3", "n4"]))[0]!.leader!;
    const rest = ["n1", "n2", "n3", "n4"].filter((id) => id !== leaver);
    const maps1 = c.mapEvents().length;
    expect(await c.nodes.get(leaver)!.stop()).toBe(0);
    // SIGTERM drains: the leaver is alive while it hands its shards over, so they move in steps too.
    const after = await c.waitStable(rest);
    // (The successor may stamp its epoch on a map that moves nothing.)
    const leaveMaps = c
      .mapEvents()
      .slice(maps1)
      .filter((e) => e.moves > 0);
    expect(leaveMaps.length).toBeGreaterThan(0);
    expect(leaveMaps.map((e) => e.version)).toEqual(leaveMaps.map((_, i) => v0 + joinMaps.length + 1 + i));
    expect(leaveMaps.every((e) => e.moves >= 1 && e.moves <= 3 && e.sample.every((m) => m.from === leaver))).toBe(true);
    expect(leaveMaps.reduce((n, e) => n + e.moves, 0)).toBe(16); // exactly the leaver's shards
    expect(after[0]!.mapVersion).toBeGreaterThanOrEqual(leaveMaps.at(-1)!.version);
    expect(after[0]!.leader).not.toBe(leaver);
    expect(c.mapEvents().length).toBeLessThanOrEqual(maps1 + leaveMaps.length + 1); // no extra plans
    expect(c.events.some((e) => e.type === "member.left" && e.member === leaver)).toBe(true);
  });

  it("keeps two clusters on one server apart: members, maps, events and actors", async () => {
    const a = await cluster("isoa", ["a1", "a2"]);
    const b = await cluster("isob", ["b1"]);
    const sa = await a.waitStable();
    const sb = await b.waitStable();
    for (const s of sa) expect(s.members.map((m) => m.id).sort()).toEqual(["a1", "a2"]);
    expect(sb[0]!.members.map((m) => m.id)).toEqual(["b1"]);
    expect(sb[0]!.shards).toBe(64);
    expect(a.events.every((e) => e.cluster === a.name)).toBe(true);
    expect(b.events.every((e) => e.cluster === b.name)).toBe(true);
    expect(b.events.some((e) => e.node.startsWith("a"))).toBe(false);
    // An actor of cluster B never sees cluster A's writes.
    const clientA = new ShoalClient(a.nc, a.name);
    const clientB = new ShoalClient(b.nc, b.name);
    expect(await clientA.ask("account", "shared-id", { deposit: { amount: 5, txn: "once" } })).toMatchObject({ balance: 5 });
    expect(await clientB.ask("account", "shared-id", { balance: {} })).toMatchObject({ balance: 0, version: 0, node: "b1" });
  });

  it("routes every ask to the owner of its shard, whichever node the ingress hands it to", async () => {
    const c = await cluster("route", ["n1", "n2", "n3"]);
    const client = new ShoalClient(c.nc, c.name);
    const owners = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 30; i++) {
        const r = await client.ask<{ node: string }>("account", `acct-${i}`, { balance: {} });
        if (owners.has(`acct-${i}`)) expect(r.node).toBe(owners.get(`acct-${i}`)); // one owner per actor
        owners.set(`acct-${i}`, r.node);
      }
    }
    expect(new Set(owners.values()).size).toBe(3); // 30 actors spread over all three nodes
  });

  it("refuses a node configured with another shard count, with a clear error", async () => {
    const c = await cluster("count", ["n1"]);
    const wrong = c.start("n2", ["--shards", "128"]);
    expect(await wrong.exited).not.toBe(0);
    expect(wrong.logs).toMatch(/configured with 128 shards but the cluster was created with 64/);
    expect((await c.waitStable(["n1"]))[0]!.members.map((m) => m.id)).toEqual(["n1"]);
  });
});

describe("a cluster whose event journal went missing", () => {
  it("is refused by a restarting node, which never re-creates an empty stream", async () => {
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("lost"));
    clusters.push(c);
    c.start("n1");
    await c.waitStable(["n1"]);
    const client = new ShoalClient(c.nc, c.name);
    await client.ask("account", "kept", { deposit: { amount: 5, txn: "a" } });
    expect(await c.nodes.get("n1")!.stop()).toBe(0);
    const jsm = await jetstreamManager(c.nc);
    await jsm.streams.delete(`SHOAL_EVENTS_${c.name}`); // the journal is lost
    const again = c.start("n1b", ["--startup-timeout", "1500"]);
    expect(await again.exited).not.toBe(0);
    expect(again.logs).toMatch(/is missing although cluster .* has stored events before: refusing to create an empty one/);
    const names: string[] = [];
    for await (const s of jsm.streams.list()) names.push(s.config.name);
    expect(names).not.toContain(`SHOAL_EVENTS_${c.name}`);
  });
});
