import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ShoalNode } from "../cluster/node.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ShoalClient } from "../src/client.js";
import { ErrorCode, type ShoalError } from "../src/errors.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { thrownCode } from "../test/support/outcomes.js";
import { uniqueCluster } from "./cluster-helpers.js";
import { waitFor, waitSettled } from "./kit/index.js";

/**
 * Backpressure on real nodes: a producer that awaits `tell` is held to what the actor keeps up
 * with, by its node's bound on tells per lane (or its client's), and loses nothing though the
 * actor's mailbox is far smaller than what it sends; with `onFull: "fail"` a tell past the bound
 * throws at once.
 */
const SHARDS = 16;
const BOUND = 16;
const cluster = uniqueCluster("bp");
const conns: NatsConnection[] = [];
const nodes: ShoalNode[] = [];
/** Per node: tells that failed (by code), and lane-full events. */
const failed: Record<string, string[]> = { t1: [], t2: [] };
const held: Record<string, string[]> = { t1: [], t2: [] };

interface Report {
  count: number;
  last: number;
  gaps: number;
}

/** Tells applied so far, per actor id: read while a producer runs (the actors run in this process). */
const applied = new Map<string, number>();

/** Counts the numbers it is told and whether they came in order; a turn takes a little while (a job's yield). */
const pace = defineInMemoryActor<Report, { n?: number; report?: true }, Report>({
  type: "pace",
  initialState: () => ({ count: 0, last: 0, gaps: 0 }),
  validate: (input) => input as { n?: number; report?: true },
  async handle(state, msg, ctx) {
    await new Promise((r) => setImmediate(r));
    if (msg.n === undefined) return { state, reply: state };
    const next = { count: state.count + 1, last: msg.n, gaps: state.gaps + (msg.n === state.last + 1 ? 0 : 1) };
    applied.set(ctx.id, next.count);
    return { state: next, reply: next };
  },
  serialize: (s) => s,
  deserialize: (d) => d as Report,
  mailboxCapacity: 20, // past it a message fails with OVERLOADED (the default overflow)
});

beforeAll(async () => {
  for (const nodeId of ["t1", "t2"]) {
    const nc = await connect({ servers: inject("natsUrl") });
    conns.push(nc);
    const hooks = {
      onTellsFailed: (code: string, n: number) => void failed[nodeId]!.push(...Array(n).fill(code)),
      onTellHeld: (outcome: string) => void held[nodeId]!.push(outcome),
    };
    nodes.push(await ShoalNode.start({ nc, cluster, nodeId, actors: [pace], shardCount: SHARDS, rebalanceDebounce: 50, tellBound: BOUND, hooks }));
  }
  await waitSettled(conns[0]!, cluster, ["t1", "t2"], SHARDS, 30_000);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) await n.stop();
  await Promise.all(conns.map((nc) => nc.close()));
});

/** An id of `pace` whose shard `owner` holds. */
function idOwnedBy(owner: string, stem: string): string {
  const owners = nodes[0]!.map!.owners;
  for (let k = 0; ; k++) if (owners[shardOf("pace", `${stem}${k}`, SHARDS)] === owner) return `${stem}${k}`;
}

describe("backpressure", () => {
  it("holds a producer that awaits tell to its node's bound, to a remote and a local owner, and loses nothing", async () => {
    const [t1] = nodes;
    for (const owner of ["t2", "t1"]) {
      const ref = t1!.ref(pace, idOwnedBy(owner, `await-${owner}-`));
      const before = held.t1!.length;
      let ahead = 0; // most tells the producer was ahead of the actor
      for (let n = 1; n <= 2000; n++) {
        await ref.tell({ n });
        ahead = Math.max(ahead, n - (applied.get(ref.id) ?? 0));
      }
      expect(ahead).toBeLessThanOrEqual(BOUND); // in flight: sent and not yet applied
      // The ask travels behind the tells in their lane: it sees every one applied.
      expect(await ref.ask({ report: true })).toEqual({ count: 2000, last: 2000, gaps: 0 });
      expect(held.t1!.length).toBeGreaterThan(before); // the bound held the producer back
    }
    expect(failed).toEqual({ t1: [], t2: [] });
  });

  it("with onFull fail, a tell past the bound throws OVERLOADED at once and sends nothing", async () => {
    const [t1] = nodes;
    const ref = t1!.ref(pace, idOwnedBy("t2", "fail-"));
    const outcomes = Array.from({ length: 100 }, (_, i) => thrownCode(() => void ref.tell({ n: i + 1 }, { onFull: "fail" })));
    expect(outcomes.filter((c) => c === "no error")).toHaveLength(BOUND);
    expect(outcomes.slice(BOUND).every((c) => c === ErrorCode.OVERLOADED)).toBe(true);
    expect(await ref.ask({ report: true })).toEqual({ count: BOUND, last: BOUND, gaps: 0 });
    expect(held.t1).toContain("refused");
  });

  it("holds a client's producer that awaits tell to the owner's bound (the ingress answers a tell once taken), and its own bound fails fast", async () => {
    const clientFailed: ShoalError[] = [];
    const client = new ShoalClient(conns[0]!, cluster, { tellBound: 64, onTellFailed: (e) => void clientFailed.push(e) });
    const ref = client.ref(pace, idOwnedBy("t2", "client-"));
    // Once it follows the map, its calls go straight to the owner: one path, in order (see ISSUES.md
    // on a client's tells that reach the owner by two paths while it switches).
    await waitFor(
      async () => {
        const hops = nodes.map((n) => n.status().forwarded);
        await ref.ask({ report: true });
        return nodes.every((n, i) => n.status().forwarded === hops[i]);
      },
      { timeout: 15_000, interval: 20, message: "the client following the map" },
    );
    const before = held.t2!.length;
    let ahead = 0;
    for (let n = 1; n <= 2000; n++) {
      await ref.tell({ n });
      ahead = Math.max(ahead, n - (applied.get(ref.id) ?? 0));
    }
    // At most the client's bound not yet taken by the owner, plus the owner's lane in flight.
    expect(ahead).toBeLessThanOrEqual(64 + BOUND);
    expect(await ref.ask({ report: true })).toEqual({ count: 2000, last: 2000, gaps: 0 });
    expect(held.t2!.length).toBeGreaterThan(before); // the owner's lane held the tells its ingress took
    await client.close();
    expect(clientFailed).toEqual([]);

    const strict = new ShoalClient(conns[0]!, cluster, { tellBound: 4, tellOnFull: "fail" });
    const ref2 = strict.ref(pace, idOwnedBy("t1", "strict-"));
    const outcomes = Array.from({ length: 50 }, (_, i) => thrownCode(() => void ref2.tell({ n: i + 1 })));
    expect(outcomes.filter((c) => c === "no error")).toHaveLength(4);
    expect(outcomes.slice(4).every((c) => c === ErrorCode.OVERLOADED)).toBe(true);
    expect(await ref2.ask({ report: true })).toEqual({ count: 4, last: 4, gaps: 0 });
    await strict.close();
    expect(failed).toEqual({ t1: [], t2: [] });
  });
});
