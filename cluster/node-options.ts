import type { Clock } from "../src/clock.js";
import type { NodeIdentity } from "../src/host.js";
import type { IngressOptions } from "../src/ingress/ingress.js";
import type { OnFull } from "../src/ref.js";
import type { RuntimeOptions } from "../src/runtime/runtime-options.js";
import type { ProjectionDefinition } from "../src/projection/spec.js";
import type { EventStore } from "../src/store/types.js";
import type { ClusterTiming } from "./config.js";
import type { KvProvider } from "./kv.js";
import type { LoadOptions } from "./load-options.js";
import type { LoadBalancing } from "./manager.js";
import type { MigrationEnded } from "./migration.js";

/** How a node joins its cluster: the connection, names, actor types, timing and tuning. */
export interface NodeOptions extends NodeIdentity, Partial<ClusterTiming> {
  /** The clock every timer and lease uses (default: the system clock). */
  clock?: Clock;
  /**
   * KV backend (default: NATS KV on `nc`).
   * @internal A seam for Shoal's own tests (an in-memory KV).
   */
  kv?: KvProvider;
  /**
   * Read-side projections this node runs its share of (see `defineProjection`). Every node of a
   * cluster should run the same ones: a partition whose shard lands on a node without it waits.
   */
  projections?: readonly ProjectionDefinition[];
  /**
   * This node's roles (`shoal node --roles a,b`): it hosts the shards of the actor types bound to
   * one of them (`roles` in `defineActor`), besides the types bound to none. Default: no role.
   */
  roles?: readonly string[];
  /** Free-form facts published in the membership record (e.g. the HTTP port). */
  meta?: Record<string, string>;
  /** Longest a shard handoff may take before the destination serves from the store. Default 10 s. */
  handoffTimeout?: number;
  /** Shards handed off at once. Default 8. */
  migrationParallelism?: number;
  /** On the leader: most live handoffs one map starts; further moves follow in later maps. Default `max(3, shardCount / 20)`. */
  maxHandoffsPerMap?: number;
  /** On the leader: longest it waits for one step's handoffs to end before publishing the next step anyway (ms). Default 5 s. */
  rebalanceStepTimeout?: number;
  /**
   * On the leader: load-aware rebalancing (off when absent). Between membership plans it swaps
   * hot shards off members whose reported load exceeds `factor` × their fair share.
   */
  loadBalance?: LoadBalancing;
  /** Per-sender order of ingress clients' messages (gap timeout, senders remembered per actor); see the runtime's option. */
  senderOrder?: RuntimeOptions["senderOrder"];
  /**
   * Backpressure on tells started here (through `ref(...).tell`, the ingress, an in-memory actor's
   * turn): most tells in flight per lane — the messages this node started for one shard — at
   * once, counted from their send until their turns have run (the owner's acknowledgement).
   * A tell past it waits, or fails, by {@link tellOnFull} or its call's `onFull`. Default 1000:
   * an actor's default mailbox, so one node's tells to one actor cannot overflow it by
   * themselves. A RangeError at start unless a positive integer.
   */
  tellBound?: number;
  /** What a tell past {@link tellBound} does when its call does not say: `"wait"` (default) or `"fail"` (OVERLOADED, thrown). */
  tellOnFull?: OnFull;
  /** How long joining may retry while NATS is not ready (ms). Default 30 s. */
  startupTimeout?: number;
  /** Observation hooks (metrics); none by default. */
  hooks?: NodeHooks;
  /** How this node measures and reports its load, and (when it leads) what counts as hot. */
  load?: LoadOptions;
}

/** Where an observer (e.g. the `shoal node` metrics) plugs into a node. Hooks must not throw. */
export interface NodeHooks {
  /** Wraps the event store the runtime and migrations use. */
  wrapStore?: (store: EventStore) => EventStore;
  /**
   * Each ingress request handled: `(type, verb, outcome, seconds)`. `verb` is "ask", "send" or
   * "tell"; `outcome` is "ok" ("accepted" for a tell) or an error code; `type` is "" for a request
   * too malformed to name one; `seconds` run from receipt to reply.
   */
  onAnswered?: IngressOptions["onAnswered"];
  /**
   * Each shard move ended on this node: `(role, outcome, ms)`. Role "source": `completed` (ms =
   * how long the shard was paused), `failed` or `no_owner` (ms = how long the move took). Role
   * "destination": `completed` (the forwarded tail is in), `timeout`, `superseded` or `stopped`;
   * ms = how long the shard was held.
   */
  onMigration?: MigrationEnded;
  /** Tells that failed (no caller hears of it): `count` of them, by error code ("INTERNAL" for a foreign error, "AT_PEER" as a peer reported them). */
  onTellsFailed?: (code: string, count: number) => void;
  /** A tell started here found its lane at `tellBound`: it `"waited"`, or was `"refused"` (OVERLOADED, `onFull: "fail"`). */
  onTellHeld?: (outcome: "waited" | "refused") => void;
  /** A message found its actor's mailbox full: what the type's `overflow` did (`"rejected"`, `"dropped"` the oldest, or `"waited"`). */
  onMailboxFull?: RuntimeOptions["onMailboxFull"];
}
