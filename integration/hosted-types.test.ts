import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatStatus } from "../bin/commands/status.js";
import { gatherClusterStatus } from "../cluster/cluster-status.js";
import { ShoalNode } from "../cluster/node.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { account } from "../src/actors/account.js";
import { ShoalClient } from "../src/client.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { waitFor } from "../local-nats/wait.js";
import { uniqueCluster } from "./cluster-helpers.js";

const counter = defineInMemoryActor({
  type: "counter",
  initialState: () => 0,
  messages: { add: { validate: (n: unknown) => Number(n), handle: (s, n) => ({ state: s + n, reply: s + n }) } },
  serialize: (s) => s,
  deserialize: (d) => d as number,
});

const cluster = uniqueCluster("types");
const SHARDS = 16;
const conns: NatsConnection[] = [];
const nodes: ShoalNode[] = [];

beforeAll(async () => {
  const timing = { shardCount: SHARDS, heartbeatInterval: 200, memberTtl: 1000, leaderTtl: 1000, rebalanceDebounce: 50 };
  for (const [nodeId, actors] of [
    ["with", [account, counter]],
    ["without", [account]],
  ] as const) {
    const nc = await connect({ servers: inject("natsUrl") });
    conns.push(nc);
    nodes.push(await ShoalNode.start({ nc, cluster, nodeId, actors, ...timing }));
  }
  await waitFor(() => nodes.every((n) => n.map !== undefined && n.map.version === nodes[0]!.map?.version && n.ownedShards().length === SHARDS / 2), {
    timeout: 20_000,
  });
});

afterAll(async () => {
  for (const n of nodes) await n.stop();
  for (const nc of conns) await nc.close();
});

describe("nodes that host different actor types", () => {
  it("advertise their types; an actor whose shard lands on a node without its type fails naming the nodes that host it", async () => {
    const client = new ShoalClient(conns[0]!, cluster);
    const owner = (id: string) => nodes[0]!.map!.owners[shardOf("counter", id, SHARDS)];
    const ids = Array.from({ length: 40 }, (_, i) => `k-${i}`);
    const onWith = ids.filter((id) => owner(id) === "with");
    const onWithout = ids.filter((id) => owner(id) === "without");
    expect(onWith.length).toBeGreaterThan(0);
    expect(onWithout.length).toBeGreaterThan(0);
    for (const id of onWith) expect(await client.ref(counter, id).ask({ add: 1 })).toBe(1);
    for (const id of onWithout) {
      const err = await client
        .ref(counter, id)
        .ask({ add: 1 })
        .catch((e: unknown) => e);
      expect(ShoalError.is(err, ErrorCode.UNKNOWN_ACTOR_TYPE), String(err)).toBe(true);
      expect((err as ShoalError).message).toMatch(/not hosted on node without.*hosted on with/);
      expect((err as ShoalError).details).toMatchObject({ type: "counter", node: "without", hostedBy: ["with"] });
    }
    // Both nodes host account: every id works wherever it lives.
    for (const id of ids) await client.ref(account, id).ask({ balance: {} });
  });

  it("shows the mismatch in status", async () => {
    const status = await gatherClusterStatus(conns[0]!, cluster);
    expect(status.nodes.map((n) => [n.id, n.types])).toEqual([
      ["with", ["account", "counter"]],
      ["without", ["account"]],
    ]);
    expect(status.typeMismatches).toEqual([{ type: "counter", hostedBy: ["with"], missingOn: ["without"] }]);
    expect(formatStatus(status)).toMatch(/warning: actor type counter is hosted on with but not on without/);
    expect(nodes[1]!.status().types).toEqual(["account"]);
  });
});
