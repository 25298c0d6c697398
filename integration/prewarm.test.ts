/**
 * Pre-warming (issue 17, item 7): a type with `prewarm: true` has the actors that were in memory
 * on a crashed node activated by the shard's new owner at once — `onActivate` runs there before
 * any message — while a type without it waits for its next message. Real nats-server, two
 * in-process nodes; the crash is the owner's connection closing under it.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ShoalNode } from "../cluster/node.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import type { ActorDefinition } from "../src/actor/spec.js";
import { waitFor } from "../local-nats/wait.js";
import { uniqueCluster } from "./cluster-helpers.js";

/** Where each activation ran: `node/id`, in order. */
const activated: Record<string, string[]> = { warm: [], cold: [] };

const kind = (type: "warm" | "cold", prewarm: boolean) =>
  defineInMemoryActor({
    type,
    prewarm,
    initialState: () => 0,
    onActivate: (_s: number, ctx) => void activated[type]!.push(`${ctx.node}/${ctx.id}`),
    messages: { hit: { validate: () => ({}), handle: (n: number, _p, ctx) => ({ state: n + 1, reply: ctx.node }) } },
    serialize: (n) => n,
    deserialize: (d) => d as number,
  });
const warm = kind("warm", true);
const cold = kind("cold", false);

const cluster = uniqueCluster("warm");
const timing = { shardCount: 16, heartbeatInterval: 200, memberTtl: 1500, leaderTtl: 1500, rebalanceDebounce: 50, probeInterval: 100, probeConfirm: 150 };
const conns: NatsConnection[] = [];
const nodes: ShoalNode[] = [];

async function start(nodeId: string, actors: ActorDefinition[]): Promise<{ node: ShoalNode; nc: NatsConnection }> {
  const nc = await connect({ servers: inject("natsUrl") });
  conns.push(nc);
  const node = await ShoalNode.start({ nc, cluster, nodeId, actors, ...timing });
  nodes.push(node);
  return { node, nc };
}

afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  for (const nc of conns) await nc.close().catch(() => undefined);
});

describe("pre-warming", () => {
  it("activates a crashed owner's pre-warmed actors on the new owner without a message; others wait for theirs", async () => {
    const a = await start("a", [warm, cold]);
    const b = await start("b", [warm, cold]);
    await waitFor(() => a.node.map?.version === b.node.map?.version && a.node.ownedShards().length === 8 && b.node.ownedShards().length === 8, {
      timeout: 20_000,
    });
    const ids = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const onA: string[] = [];
    const coldOnA: string[] = [];
    for (const id of ids) {
      if ((await b.node.ref(warm, id).ask({ hit: {} })) === "a") onA.push(id);
      if ((await b.node.ref(cold, id).ask({ hit: {} })) === "a") coldOnA.push(id);
    }
    expect(onA.length).toBeGreaterThan(5);
    expect(coldOnA.length).toBeGreaterThan(5);
    // Records are written after the activation: wait for them before the crash.
    await waitFor(async () => (await recorded(b.nc)) === ids.length, { timeout: 5000, message: "not every warm actor was recorded" });

    await a.nc.close(); // a crashes: nothing is handed over
    await waitFor(() => onA.every((id) => activated.warm!.includes(`b/${id}`)), { timeout: 15_000, message: "b did not pre-warm a's actors" });
    // No message reached them: the cold ones a had are not active on b.
    expect(activated.cold!.filter((x) => x.startsWith("b/") && coldOnA.includes(x.slice(2)))).toEqual([]);
    // And they are there when called: activated on b by the call itself.
    for (const id of coldOnA) expect(await b.node.ref(cold, id).ask({ hit: {} })).toBe("b");
    expect(activated.cold!.filter((x) => x.startsWith("b/") && coldOnA.includes(x.slice(2)))).toHaveLength(coldOnA.length);
  }, 60_000);
});

/** How many keys the keep-alive bucket holds (pre-warmed actors are recorded there). */
async function recorded(nc: NatsConnection): Promise<number> {
  const { Kvm } = await import("@nats-io/kv");
  const kv = await new Kvm(nc).open(`shoal-keepalive-${cluster}`);
  let n = 0;
  for await (const _ of await kv.keys()) n++;
  return n;
}
