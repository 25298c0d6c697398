import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatPins, runPin } from "../bin/commands/pin.js";
import { formatStatus } from "../bin/commands/status.js";
import { gatherClusterStatus } from "../cluster/cluster-status.js";
import { ShoalNode } from "../cluster/node.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ShoalClient } from "../src/client.js";
import { waitFor } from "../local-nats/wait.js";
import { uniqueCluster } from "./cluster-helpers.js";

/** Counts its turns and says where each ran; in memory, so only a live handoff keeps the count. */
const counter = defineInMemoryActor({
  type: "counter",
  initialState: () => 0,
  messages: { hit: { validate: () => ({}), handle: (n: number, _p, ctx) => ({ state: n + 1, reply: { n: n + 1, node: ctx.node } }) } },
  serialize: (n) => n,
  deserialize: (d) => d as number,
});

const cluster = uniqueCluster("pins");
const SHARDS = 32;
const timing = { shardCount: SHARDS, heartbeatInterval: 200, memberTtl: 1500, leaderTtl: 1500, rebalanceDebounce: 50 };
const conns: NatsConnection[] = [];
const nodes = new Map<string, ShoalNode>();
const url = () => inject("natsUrl") as string;

async function start(nodeId: string): Promise<void> {
  const nc = await connect({ servers: url() });
  conns.push(nc);
  nodes.set(nodeId, await ShoalNode.start({ nc, cluster, nodeId, actors: [counter], ...timing }));
}

const pin = async (...args: string[]) => {
  const code = await runPin([...args, "--nats", url(), "--cluster", cluster]);
  expect(code).toBe(0);
};

beforeAll(async () => {
  for (const id of ["n1", "n2", "n3"]) await start(id);
  await waitFor(() => [...nodes.values()].every((n) => n.map !== undefined && n.map.version === nodes.get("n1")!.map!.version && n.ownedShards().length > 0), {
    timeout: 20_000,
  });
});

afterAll(async () => {
  for (const n of nodes.values()) await n.stop();
  for (const nc of conns) await nc.close();
});

describe("tenant pinning", () => {
  it("serves a pinned tenant on its node, and moves it live when the pin changes, nothing lost or doubled under load", async () => {
    const client = new ShoalClient(conns[0]!, cluster);
    const acme = Array.from({ length: 40 }, (_, i) => `acme/${i}`);
    const other = Array.from({ length: 20 }, (_, i) => `other/${i}`);
    const seen = new Map<string, number>();
    const lastNode = new Map<string, string>();
    const failures: unknown[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          [...acme, ...other].map(async (id) => {
            try {
              const r = (await client.ref(counter, id).ask({ hit: {} })) as { n: number; node: string };
              // One more than the last reply: a lost turn, a doubled one or a state left behind breaks it.
              if (r.n !== (seen.get(id) ?? 0) + 1) failures.push(`${id}: got ${r.n} after ${seen.get(id) ?? 0}`);
              seen.set(id, r.n);
              lastNode.set(id, r.node);
            } catch (err) {
              failures.push(err);
            }
          }),
        );
      }
    })();
    const servedBy = (ids: string[]) => new Set(ids.map((id) => lastNode.get(id)));
    await waitFor(() => seen.size === acme.length + other.length, { timeout: 10_000 });
    expect(servedBy(acme).size).toBeGreaterThan(1); // spread over the nodes before the pin

    await pin("set", "counter", "acme", "--node", "n2");
    const rounds = () => Math.min(...acme.map((id) => seen.get(id) ?? 0));
    let mark = rounds();
    await waitFor(() => rounds() > mark + 2 && [...servedBy(acme)].join() === "n2", { timeout: 15_000, message: "acme on its pinned node" });
    const map = nodes.get("n1")!.map!;
    expect(map.pins).toEqual([{ type: "counter", tenant: "acme", shard: SHARDS, node: "n2" }]);

    await pin("set", "counter", "acme", "--node", "n3");
    mark = rounds();
    await waitFor(() => rounds() > mark + 2 && [...servedBy(acme)].join() === "n3", { timeout: 15_000, message: "acme on its pinned node" });
    expect(servedBy(other).size).toBeGreaterThan(1); // other tenants stay spread

    stop = true;
    await load;
    expect(failures).toEqual([]);
  }, 90_000);

  it("falls back when the pinned node is not there, and pin list says so", async () => {
    await pin("set", "counter", "ghost-tenant", "--node", "nowhere");
    await waitFor(() => nodes.get("n1")!.map?.pins?.some((p) => p.tenant === "ghost-tenant") === true, { timeout: 10_000 });
    const client = new ShoalClient(conns[0]!, cluster);
    const r = (await client.ref(counter, "ghost-tenant/1").ask({ hit: {} })) as { node: string };
    expect(["n1", "n2", "n3"]).toContain(r.node);
    const logged: string[] = [];
    const log = console.log;
    console.log = (s: string) => logged.push(s);
    try {
      await pin("list", "--json");
      await pin("list");
    } finally {
      console.log = log;
    }
    const rows = JSON.parse(logged[0]!) as Array<{ tenant: string; applied: boolean; owner: string }>;
    expect(rows.find((x) => x.tenant === "ghost-tenant")).toMatchObject({ applied: false, owner: r.node });
    expect(rows.find((x) => x.tenant === "acme")).toMatchObject({ applied: true, owner: "n3" });
    expect(logged[1]).toMatch(/warning: counter tenant "ghost-tenant" is pinned to node nowhere, which cannot take it now: it runs on n\d/);
    expect(formatPins([])).toBe("no pins");
    const status = await gatherClusterStatus(conns[0]!, cluster);
    expect(status.pins.map((p) => [p.tenant, p.applied])).toEqual([
      ["acme", true],
      ["ghost-tenant", false],
    ]);
    expect(formatStatus(status)).toMatch(/warning: counter tenant "ghost-tenant" is pinned to node nowhere, which cannot take it now/);
    // Unpinned, the tenant keeps its shard.
    await pin("rm", "counter", "acme");
    await waitFor(() => nodes.get("n1")!.map?.pins?.find((p) => p.tenant === "acme")?.node === undefined, { timeout: 10_000 });
    expect(nodes.get("n1")!.map!.pins!.find((p) => p.tenant === "acme")!.shard).toBe(SHARDS);
  }, 60_000);
});
