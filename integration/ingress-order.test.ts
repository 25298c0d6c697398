/**
 * Per-sender order for ingress clients (issue 14 part 4), on a real NATS server: one
 * `ShoalClient`'s pipelined messages to an actor enter through every node of the ingress queue
 * group (so most reach the owner forwarded, some directly), or go straight to the owner by the
 * client's map across live migrations (old and new owner both get some), and the actor applies
 * them in the order the client sent them.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ShoalNode } from "../cluster/node.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ShoalClient } from "../src/client.js";
import { ShoalError } from "../src/errors.js";
import { uniqueCluster } from "./cluster-helpers.js";
import { waitFor, waitSettled } from "./kit/index.js";

/**
 * Records the order it applies `{n}` messages in: `inversions` counts every `n` below the
 * highest applied before it (an order violation). `{report: {}}` answers the record.
 */
interface Record_ {
  applied: number;
  highest: number;
  inversions: number;
  examples: Array<[after: number, got: number]>;
}
const recorder = defineInMemoryActor<Record_, { n: number } | { report: Record<string, never> }, Record_ | null>({
  type: "recorder",
  initialState: () => ({ applied: 0, highest: 0, inversions: 0, examples: [] }),
  validate: (input) => input as { n: number },
  handle(state, msg) {
    if ("report" in msg) return { state, reply: state };
    if (msg.n < state.highest) {
      state.inversions++;
      if (state.examples.length < 10) state.examples.push([state.highest, msg.n]);
    }
    state.applied++;
    state.highest = Math.max(state.highest, msg.n);
    return { state, reply: null };
  },
  serialize: (s) => s,
  deserialize: (d) => d as Record_,
});

const SHARDS = 16;
const cluster = uniqueCluster("order");
const conns: NatsConnection[] = [];
const nodes: ShoalNode[] = [];
/** Ingress requests each node answered (asks and sends) or took (tells). */
const served = new Map<string, number>();
/** Through the shared subject (the queue group spreads its calls over the nodes). */
let shared: ShoalClient;
/** Straight to the owner's node by the map: across a move, calls go to the old and the new owner. */
let direct: ShoalClient;

async function startNode(nodeId: string): Promise<ShoalNode> {
  const nc = await connect({ servers: inject("natsUrl") });
  conns.push(nc);
  const onAnswered = (type: string) => {
    if (type === "recorder") served.set(nodeId, (served.get(nodeId) ?? 0) + 1);
  };
  return ShoalNode.start({ nc, cluster, nodeId, actors: [recorder], shardCount: SHARDS, rebalanceDebounce: 50, hooks: { onAnswered } });
}

beforeAll(async () => {
  for (const id of ["o1", "o2"]) nodes.push(await startNode(id));
  await waitSettled(conns[0]!, cluster, ["o1", "o2"], SHARDS, 30_000);
  shared = await ShoalClient.connect({ servers: inject("natsUrl"), cluster, routing: "any" });
  direct = await ShoalClient.connect({ servers: inject("natsUrl"), cluster });
}, 60_000);

afterAll(async () => {
  await shared?.close();
  await direct?.close();
  for (const n of nodes) await n.stop();
  await Promise.all(conns.map((nc) => nc.close()));
});

/** What one pipelined stream of messages came to. */
interface Outcome {
  /** Asks and sends refused as late (their gap timed out before they arrived); tells are not heard of. */
  refused: number;
  /** Any other failure, by code. */
  other: string[];
}

/**
 * Sends `n` to actor `id`: ask, send and tell in turn, none awaited before the next is sent
 * (at most `window` asks and sends in flight).
 */
async function stream(client: ShoalClient, id: string, from: number, to: number, window: number, out: Outcome): Promise<void> {
  const ref = client.ref(recorder, id);
  const open = new Set<Promise<void>>();
  for (let n = from; n <= to; n++) {
    const verb = n % 3;
    if (verb === 2) {
      ref.tell({ n });
      continue;
    }
    const p: Promise<void> = (verb === 0 ? ref.ask({ n }) : ref.send({ n })).then(
      () => undefined,
      (err: unknown) => {
        if (ShoalError.is(err, "OUT_OF_ORDER")) out.refused++;
        else out.other.push(ShoalError.is(err) ? err.code : String(err));
      },
    );
    const tracked = p.finally(() => open.delete(tracked));
    open.add(tracked);
    if (open.size >= window) await Promise.race(open);
  }
  await Promise.all(open);
}

/** The actor's record, asked by the same client: its own seq puts it after every message above. */
const report = (client: ShoalClient, id: string) => client.ref(recorder, id).ask({ report: {} }) as Promise<Record_>;

describe("per-sender order through the ingress", () => {
  it("applies one client's pipelined asks, sends and tells to an actor in the order sent, though they enter through two nodes", async () => {
    const N = 1500;
    const out: Outcome = { refused: 0, other: [] };
    served.clear();
    await stream(shared, "pipelined", 1, N, 64, out);
    const r = await report(shared, "pipelined");
    console.log(
      `ingress order, two nodes: ${N} sent, ${r.applied} applied, ${out.refused} refused as late, ${r.inversions} inversions; served ${JSON.stringify([...served])}`,
    );
    expect(out.other).toEqual([]);
    expect({ inversions: r.inversions, examples: r.examples }).toEqual({ inversions: 0, examples: [] });
    // Every message was applied, or (rarely, a forward slower than the gap timeout) refused: never reordered.
    expect(r.applied).toBeGreaterThanOrEqual(N - out.refused - Math.ceil(N / 3) * 0.05);
    expect(r.applied).toBeLessThanOrEqual(N);
    expect(out.refused).toBeLessThanOrEqual(N * 0.02);
    // Both nodes took a share of the client's requests from the queue group.
    expect([...served.keys()].sort()).toEqual(["o1", "o2"]);
    for (const count of served.values()) expect(count).toBeGreaterThan(N / 10);
  }, 60_000);

  it("keeps each actor's order while its shard moves to a joining node and back when it drains (a client routing by the map)", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `moving-${i}`);
    const out: Outcome = { refused: 0, other: [] };
    let round = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        round++;
        // 30 messages per actor per round, pipelined, the actors' streams side by side.
        await Promise.all(ids.map((id) => stream(direct, id, (round - 1) * 30 + 1, round * 30, 16, out)));
      }
    })();
    const o3 = await startNode("o3");
    try {
      await waitSettled(conns[0]!, cluster, ["o1", "o2", "o3"], SHARDS, 30_000);
      const moved = ids.filter((id) => o3.map!.owners[shardOf("recorder", id, SHARDS)] === "o3");
      expect(moved.length).toBeGreaterThan(0); // some of the actors moved while their streams ran
      const atJoin = round;
      await waitFor(() => round >= atJoin + 3, { timeout: 20_000, interval: 20, message: "the pump stalled after the join" });
    } finally {
      await o3.drain(30_000); // hands its shards back, with the actors' state and order tables
    }
    await waitSettled(conns[0]!, cluster, ["o1", "o2"], SHARDS, 30_000);
    const atLeave = round;
    await waitFor(() => round >= atLeave + 3, { timeout: 20_000, interval: 20, message: "the pump stalled after the drain" });
    stop = true;
    await pump;
    const records = await Promise.all(ids.map((id) => report(direct, id)));
    expect(out.other).toEqual([]);
    expect(records.map((r) => ({ inversions: r.inversions, examples: r.examples }))).toEqual(ids.map(() => ({ inversions: 0, examples: [] })));
    const sent = round * 30 * ids.length;
    const applied = records.reduce((sum, r) => sum + r.applied, 0);
    const inversions = records.reduce((sum, r) => sum + r.inversions, 0);
    console.log(`ingress order, join and drain: ${sent} sent, ${applied} applied, ${out.refused} refused as late, ${inversions} inversions`);
    expect(applied).toBeLessThanOrEqual(sent);
    expect(applied).toBeGreaterThanOrEqual(sent * 0.95);
    expect(served.get("o3") ?? 0).toBeGreaterThan(0); // the joining node took requests too
  }, 120_000);
});
