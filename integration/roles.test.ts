import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatStatus } from "../bin/commands/status.js";
import { gatherClusterStatus } from "../cluster/cluster-status.js";
import { ShoalNode } from "../cluster/node.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { account } from "../src/actors/account.js";
import { ShoalClient } from "../src/client.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { waitFor } from "../local-nats/wait.js";
import { uniqueCluster } from "./cluster-helpers.js";

/** Counts its turns and says where each ran: a reply's `node` is the node that ran the turn. */
const render = defineInMemoryActor({
  type: "render",
  roles: ["gpu"],
  initialState: () => 0,
  messages: { frame: { validate: () => ({}), handle: (n: number, _p, ctx) => ({ state: n + 1, reply: { n: n + 1, node: ctx.node } }) } },
  serialize: (n) => n,
  deserialize: (d) => d as number,
});

/** Bound to a role no node has. */
const audit = defineInMemoryActor({
  type: "audit",
  roles: ["audit"],
  initialState: () => 0,
  messages: { note: { validate: () => ({}), handle: (n: number) => ({ state: n + 1, reply: n + 1 }) } },
  serialize: (n) => n,
  deserialize: (d) => d as number,
});

const cluster = uniqueCluster("roles");
const SHARDS = 32;
const timing = { shardCount: SHARDS, heartbeatInterval: 200, memberTtl: 1500, leaderTtl: 1500, rebalanceDebounce: 50 };
const conns: NatsConnection[] = [];
const nodes = new Map<string, ShoalNode>();
const GPU = new Set(["g1", "g2", "g3"]);

async function start(nodeId: string, roles?: string[]): Promise<ShoalNode> {
  const nc = await connect({ servers: inject("natsUrl") });
  conns.push(nc);
  const node = await ShoalNode.start({ nc, cluster, nodeId, actors: [account, render, audit], ...(roles ? { roles } : {}), ...timing });
  nodes.set(nodeId, node);
  return node;
}

/** Every live node applied the same map, and that map has a gpu group owned by gpu nodes only. */
const settled = () => {
  const live = [...nodes.values()];
  const v = live[0]!.map?.version;
  return live.every(
    (n) => n.map !== undefined && n.map.version === v && n.map.owners.every((o) => o !== null || n.map!.groups?.some((g) => g.roles.includes("audit"))),
  );
};

beforeAll(async () => {
  await start("n1");
  await start("g1", ["gpu"]);
  await waitFor(settled, { timeout: 20_000 });
});

afterAll(async () => {
  for (const n of nodes.values()) await n.stop();
  for (const nc of conns) await nc.close();
});

describe("actor types bound to roles", () => {
  it("run only on nodes with their role, through a join and a drain in the group, with nothing lost or doubled", async () => {
    const client = new ShoalClient(conns[0]!, cluster);
    const ids = Array.from({ length: 60 }, (_, i) => `frame-${i}`);
    const acked = new Map<string, number>();
    const seen = new Map<string, number>();
    const ranOn = new Set<string>();
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          ids.map(async (id) => {
            const r = (await client.ref(render, id).ask({ frame: {} })) as { n: number; node: string };
            ranOn.add(r.node);
            acked.set(id, (acked.get(id) ?? 0) + 1);
            // Each reply counts one more than the last: a lost turn or a doubled one breaks the sequence.
            expect(r.n).toBe((seen.get(id) ?? 0) + 1);
            seen.set(id, r.n);
          }),
        );
      }
    })();
    await waitFor(() => acked.size === ids.length, { timeout: 10_000 });
    const g2 = await start("g2", ["gpu"]);
    await waitFor(() => settled() && g2.ownedShards().some((s) => s >= SHARDS), { timeout: 20_000 });
    await start("g3", ["gpu"]);
    await waitFor(settled, { timeout: 20_000 });
    const before = [...acked.values()].reduce((a, b) => a + b, 0);
    await nodes.get("g1")!.drain(20_000);
    await nodes.get("g1")!.stop();
    nodes.delete("g1");
    await waitFor(settled, { timeout: 20_000 });
    await waitFor(() => [...acked.values()].reduce((a, b) => a + b, 0) > before + ids.length, { timeout: 10_000 });
    stop = true;
    await load;
    expect(
      [...ranOn].every((n) => GPU.has(n)),
      [...ranOn].join(","),
    ).toBe(true);
    expect(ranOn.size).toBeGreaterThan(1);
    // The group's shards are all on gpu nodes; the default group spreads over every node.
    const map = nodes.get("n1")!.map!;
    const group = map.groups!.find((g) => g.types.includes("render"))!;
    expect(new Set(map.owners.slice(group.base, group.base + group.size))).toEqual(new Set(["g2", "g3"]));
    expect(map.owners.slice(0, SHARDS)).toContain("n1");
    // Accounts still run everywhere, n1 included.
    const accountNodes = new Set<string>();
    for (let i = 0; i < 40; i++) accountNodes.add(((await client.ref(account, `acct-${i}`).ask({ balance: {} })) as { node: string }).node);
    expect(accountNodes.has("n1")).toBe(true);
  }, 90_000);

  it("fails calls to a type whose role no node has, at once and saying so; status shows it", async () => {
    const client = new ShoalClient(conns[0]!, cluster);
    const t0 = Date.now();
    const err = await client
      .ref(audit, "a1")
      .ask({ note: {} }, { timeout: 5000 })
      .catch((e: unknown) => e);
    expect(ShoalError.is(err, ErrorCode.UNAVAILABLE), String(err)).toBe(true);
    expect((err as ShoalError).message).toMatch(/no node with role audit .*actor type audit/);
    expect(Date.now() - t0).toBeLessThan(2500);
    const status = await gatherClusterStatus(conns[0]!, cluster);
    expect(status.groups.map((g) => [g.roles, g.types, g.nodes])).toEqual([
      [["audit"], ["audit"], []],
      [["gpu"], ["render"], ["g2", "g3"]],
    ]);
    expect(status.unowned).toBe(0);
    expect(status.nodes.find((n) => n.id === "g2")!.roles).toEqual(["gpu"]);
    const text = formatStatus(status);
    expect(text).toMatch(/warning: no node has role audit, which actor type audit runs on/);
    expect(text).toMatch(/gpu\s+render\s+g2,g3\s+32/);
  });
});
