/**
 * Two nodes' runtimes and migrations in one process, for migration unit tests: shard 1 holds the
 * ids starting with `s1-`, shard 0 the rest; each node has its own manual clock and memory store.
 */
import { ClusterEvents } from "../../cluster/events.js";
import { Migrations } from "../../cluster/migration.js";
import type { ShardMap } from "../../cluster/placement.js";
import type { MapView } from "../../cluster/router.js";
import type { Transport } from "../../cluster/transport.js";
import { parseRpc, type RpcRequest } from "../../cluster/wire.js";
import { msgpack } from "../../src/codec/msgpack.js";
import type { ActorDefinition } from "../../src/actor/spec.js";
import { ManualClock } from "../../src/clock.js";
import { silentLogger } from "../../src/log.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { type MemoryBackend, MemoryEventStore } from "../../src/store/memory.js";

export const partition = (_t: string, id: string) => (id.startsWith("s1-") ? 1 : 0);

/** A two-shard map giving both shards to `owner`. */
export const mapOf = (version: number, owner: string): ShardMap => ({ version, epoch: 1, shardCount: 2, owners: [owner, owner] });

export interface PairNode {
  runtime: Runtime;
  migrations: Migrations;
  clock: ManualClock;
}

/** One node hosting `actors`, whose map is `current()`; its store is its own unless `backend` is shared. */
export function migrationNode(
  id: string,
  actors: readonly ActorDefinition[],
  transport: Transport,
  current: () => ShardMap,
  backend?: MemoryBackend,
): PairNode {
  const clock = new ManualClock();
  const store = new MemoryEventStore({ backend });
  const runtime = new Runtime({ nodeId: id, store, actors, clock, partitionOf: partition });
  const maps: MapView = { current, waitFor: async (until) => until(current()) };
  const events = new ClusterEvents({ publish() {} } as never, "c", id, clock, silentLogger);
  const migrations = new Migrations({ nodeId: id, runtime, store, transport, maps, events, clock, isAlive: () => true });
  return { runtime, migrations, clock };
}

/** A transport that answers nothing but plain sends (for one node on its own). */
export const idleTransport: Transport = { request: async () => ({}), send: (_n, _r, _t, to) => to.ok({}) };

/**
 * A transport whose requests go to `destination()`'s migrations as peer dispatch would hand them
 * over: encoded, decoded and checked by `parseRpc`. Every request is recorded in `requests` as sent.
 */
export function directTransport(destination: () => PairNode, requests: RpcRequest[] = []): Transport {
  return {
    request: async (_to, sent) => {
      requests.push(sent);
      const req = parseRpc(msgpack.decode(msgpack.encode(sent)));
      const d = destination().migrations;
      if (req.k === "handoff") return d.onHandoff(req);
      if (req.k === "tail-end") return d.onTailEnd(req);
      return d.onTailAsk(req);
    },
    send: (_n, _r, _t, to) => to.ok({}),
  };
}
