import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type ClusterEvent, ClusterEvents } from "../cluster/events.js";
import { ShoalNode } from "../cluster/node.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { waitFor } from "../local-nats/index.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { emit, throughput } from "./report.js";
import { percentile } from "./stats.js";

const SHARDS = 64;
const ACTORS = 6400; // ~100 per shard
const STATE_BYTES = 1024;
const TYPE = "benchblob";
/** Bound of every wait for the cluster to act (a broken migration fails the bench, never hangs it). */
const SETTLE_MS = 30_000;

interface Blob {
  n: number;
  pad: string;
}
type BlobMsg = { put: number } | { get: true };
interface BlobReply {
  n: number;
  node: string;
  /** The 1 KB pad arrived intact (it starts with the actor's id). */
  intact: boolean;
}

/** A bench-only in-memory actor holding ~1 KB of state: what a handoff has to carry. */
const blob = defineInMemoryActor<Blob, BlobMsg, BlobReply>({
  type: TYPE,
  initialState: (id) => ({ n: 0, pad: padFor(id) }),
  validate(m) {
    const v = m as Partial<{ put: unknown; get: unknown }>;
    if (typeof v?.put === "number") return { put: v.put };
    if (v?.get === true) return { get: true };
    throw new Error('expected {"put": n} or {"get": true}');
  },
  handle(state, msg, ctx) {
    const next = "put" in msg ? { n: msg.put, pad: state.pad } : state;
    return { state: next, reply: { n: next.n, node: ctx.node, intact: next.pad === padFor(ctx.id) } };
  },
  serialize: (s) => s,
  deserialize: (d) => d as Blob,
});

function padFor(id: string): string {
  return `${id}:`.padEnd(STATE_BYTES, "~");
}

/** The moves of one rebalance (one map, or several when the leader moves shards in steps), as the cluster events told them. */
interface MoveSample {
  /** The last map of the rebalance. */
  version: number;
  /** Maps the rebalance took. */
  maps: number;
  shards: number;
  actors: number;
  /** Per shard: how long it was paused at the source (ms). */
  pauses: number[];
  /** From the first map's publish to the last completed migration (ms). */
  wallMs: number;
  tail: number;
}

/**
 * Live migration in one process: two ShoalNodes on the bench server (own connections, 64 shards,
 * debounce 50 ms). 6,400 in-memory actors with 1 KB of state are activated on node A alone, then
 * B joins and ~half the shards move to it; then B drains and everything moves back. Every
 * actor's state is checked after each move: a broken migration fails the bench.
 */
export async function migration(url: string): Promise<void> {
  const cluster = `benchmig${process.pid}`;
  const conns: NatsConnection[] = [];
  const nodes: ShoalNode[] = [];
  const open = async () => {
    const nc = await connect({ servers: url });
    conns.push(nc);
    return nc;
  };
  const startNode = async (nodeId: string) => {
    const node = await ShoalNode.start({ nc: await open(), cluster, nodeId, actors: [blob], shardCount: SHARDS, rebalanceDebounce: 50 });
    nodes.push(node);
    await node.mapped;
    return node;
  };
  try {
    const observer = await open();
    const events: ClusterEvent[] = [];
    ClusterEvents.subscribe(observer, cluster, (e) => events.push(e));
    await observer.flush();

    const a = await startNode("mig-a");
    await waitFor(() => a.ownedShards().length === SHARDS, { timeout: SETTLE_MS, message: "node A never owned every shard" });
    const ids = Array.from({ length: ACTORS }, (_, i) => `blob-${i}`);
    await throughput(ACTORS, 256, (i) => a.ask(TYPE, ids[i]!, { put: i + 1 }));
    if (a.status().actors !== ACTORS) throw new Error(`expected ${ACTORS} active actors on A, found ${a.status().actors}`);

    // Join: B takes about half the shards, with their actors.
    const before = a.map!.version;
    const b = await startNode("mig-b");
    await waitFor(() => b.ownedShards().length === SHARDS / 2 && a.map?.version === b.map?.version, {
      timeout: SETTLE_MS,
      message: "nodes never agreed on a balanced map",
    });
    const join = await collectMoves(events, before, a.map!.version, "mig-a");
    const owners = a.map!.owners;
    await verify(a, ids, (id) => owners[shardOf(TYPE, id, SHARDS)]!, "after B joined");
    const onB = ids.filter((id) => owners[shardOf(TYPE, id, SHARDS)] === "mig-b").length;
    if (join.actors !== onB) throw new Error(`the join moved ${join.actors} actors, but ${onB} live on B's shards`);
    report("", join, "join: A (6,400 actors) → A + B");

    // Drain: B hands everything back to A, then leaves.
    const drained = await b.drain(SETTLE_MS);
    if (!drained) throw new Error("node B did not drain in time");
    const back = await collectMoves(events, join.version, a.map!.version, "mig-b");
    await verify(a, ids, () => "mig-a", "after B drained");
    if (back.actors !== onB) throw new Error(`the drain moved ${back.actors} actors back, expected ${onB}`);
    report("_drain", back, "drain: B → A");
  } finally {
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
  }
}

/**
 * The maps published after `after` up to `last` (the leader may move shards in several steps),
 * then a migration event per shard they moved from `source`. A failed handoff fails the bench.
 */
async function collectMoves(events: ClusterEvent[], after: number, last: number, source: string): Promise<MoveSample> {
  type Published = Extract<ClusterEvent, { type: "map.published" }>;
  type Migrated = Extract<ClusterEvent, { type: "migration" }>;
  const inRange = (v: number) => v > after && v <= last;
  const maps = () => events.filter((e): e is Published => e.type === "map.published" && inRange(e.version) && e.moves > 0);
  await waitFor(() => maps().some((e) => e.version === last), { timeout: SETTLE_MS, message: `map v${last} was never published` });
  const moves = maps().reduce((n, e) => n + e.moves, 0);
  const mine = () => events.filter((e): e is Migrated => e.type === "migration" && inRange(e.mapVersion) && e.from === source);
  await waitFor(() => mine().length >= moves, {
    timeout: SETTLE_MS,
    message: `maps v${after + 1}..v${last} moved ${moves} shards but only ${mine().length} migrations ended`,
  });
  const done = mine();
  const failed = done.filter((e) => e.phase === "failed");
  if (failed.length > 0) throw new Error(`${failed.length} handoffs failed: ${JSON.stringify(failed.slice(0, 3))}`);
  return {
    version: last,
    maps: maps().length,
    shards: done.length,
    actors: done.reduce((n, e) => n + e.actors, 0),
    pauses: done.map((e) => e.ms),
    wallMs: Math.max(...done.map((e) => e.at)) - Math.min(...maps().map((e) => e.at)),
    tail: done.reduce((n, e) => n + (e.tail ?? 0), 0),
  };
}

/** Asks every actor (through node `via`, so remote ones go over the router) and checks its state and owner. */
async function verify(via: ShoalNode, ids: string[], ownerOf: (id: string) => string, when: string): Promise<void> {
  const wrong: string[] = [];
  await throughput(ids.length, 256, async (i) => {
    const id = ids[i]!;
    const r = (await via.ask(TYPE, id, { get: true }, { timeout: 10_000 })) as BlobReply;
    if (r.n !== i + 1 || !r.intact || r.node !== ownerOf(id)) wrong.push(`${id}: ${JSON.stringify(r)}`);
  });
  if (wrong.length > 0) throw new Error(`${wrong.length} actors lost their state or owner ${when}, e.g. ${wrong.slice(0, 3).join("; ")}`);
}

function report(suffix: string, s: MoveSample, what: string): void {
  const common = { what, shards: s.shards, actors: s.actors, stateBytes: STATE_BYTES, mapVersion: s.version, maps: s.maps };
  emit({ name: `handoff_pause_p50${suffix}`, value: percentile(s.pauses, 50), unit: "ms", ...common });
  emit({ name: `handoff_pause_p99${suffix}`, value: percentile(s.pauses, 99), unit: "ms", goal: 25, max: Math.max(...s.pauses), ...common });
  emit({ name: `actors_moved_per_s${suffix}`, value: s.actors / (s.wallMs / 1000), unit: "actors/s", goal: 5000, wallMs: s.wallMs, tail: s.tail, ...common });
  emit({ name: `migration_shards_moved${suffix}`, value: s.shards, unit: "shards", ...common });
  emit({ name: `migration_actors_moved${suffix}`, value: s.actors, unit: "actors", ...common });
}
