import type { ActorDefinition } from "../actor/spec.js";
import type { Clock } from "../clock.js";
import type { ShoalError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ReminderStorage } from "../reminders/storage.js";
import type { ActorKey, EventStore } from "../store/types.js";
import type { LoadMeterOptions } from "./load-meter.js";

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** This node's id: the `node` a turn sees in its context. */
  nodeId: string;
  /**
   * Where event-sourced actors persist (e.g. a {@link MemoryEventStore}). In-memory actors never
   * touch it.
   */
  store: EventStore;
  /** Actor types hosted here. More can be added with {@link Runtime.register}. */
  actors?: readonly ActorDefinition[];
  /**
   * What turns (`ctx.now`), timeouts and passivation run on. Default: the system clock; a
   * `ManualClock` in tests.
   */
  clock?: Clock;
  /** pino logger for failed loads, turns, snapshots and tells. Default: silent. */
  logger?: Logger;
  /** Default mailbox bound per actor (an actor type may set its own). Default 1000. */
  mailboxCapacity?: number;
  /**
   * Told each time a message finds its actor's mailbox full, with the actor's type and what its
   * `overflow` policy did: `"rejected"` (the message failed OVERLOADED), `"dropped"` (the oldest
   * queued one did, to make room) or `"waited"`. Must not throw. Default: nothing.
   */
  onMailboxFull?: (type: string, outcome: "rejected" | "dropped" | "waited") => void;
  /** Default timeout (ms) of a call through {@link Runtime.ref} that gives none. Default 10 000. */
  askTimeout?: number;
  /**
   * Idle time (ms) before an event-sourced actor is passivated, unless its type says otherwise.
   * Default 5 min.
   */
  passivateAfter?: number;
  /** How often (ms) idle actors are looked for. Default 10 s. */
  passivationInterval?: number;
  /**
   * The partition (shard) of an actor, for `Runtime.holdPartition`. The cluster layer
   * passes its shard function; without it only selector pauses exist.
   * @internal Set by the cluster layer (`ShoalNode`).
   */
  partitionOf?: (type: string, id: string) => number;
  /**
   * Called before every turn and again right before an event-sourced turn persists: throws
   * (ACTOR_MOVED, UNAVAILABLE) when this node must not act for the actor right now. The
   * cluster's fence of last resort for a node that lost ownership without noticing yet.
   * @internal Set by the cluster layer (`ShoalNode`).
   */
  fence?: (key: ActorKey) => void;
  /**
   * The error for a message to a type this runtime does not host (default: a plain
   * UNKNOWN_ACTOR_TYPE). The cluster layer names the nodes that host it.
   * @internal Set by the cluster layer (`ShoalNode`).
   */
  unknownType?: (type: string) => ShoalError;
  /**
   * Told when an actor of a keep-alive type is activated by a message (not by a handoff, nor by
   * `Runtime.activate`), and when one stops itself (`ctx.stop()`): the cluster keeps the
   * durable record its shard's next owners start it from. Must not throw.
   * @internal Set by the cluster layer (`ShoalNode`).
   */
  keepAlive?: KeepAliveHooks;
  /**
   * Where reminders are kept. Default: memory (they last as long as the process).
   * @internal Set by the cluster layer (`ShoalNode`) to the cluster's KV bucket.
   */
  reminderStorage?: ReminderStorage;
  /**
   * Told when a `tell` fails: bad input, a full mailbox, a timeout or the turn (no caller hears
   * of it). Default: logged, at debug for a `ShoalError`, at warn for anything else.
   */
  onTellFailed?: (err: unknown) => void;
  /**
   * Per-sender order of messages that carry a client's `sender` and `seq` (the ingress
   * contract): each actor runs a sender's messages in `seq` order.
   */
  senderOrder?: {
    /** How long (ms) an early message waits for the ones before it; at most half its remaining timeout. Default 250. */
    gapTimeout?: number;
    /** Senders each actor remembers; the least recently used is forgotten first. Default 1024. */
    maxSenders?: number;
    /** Idle time (ms) after which a sender is forgotten; keep it above the longest call timeout. Default 5 min. */
    forgetAfter?: number;
  };
  /**
   * How turn rates are decayed and how many hot actors and state sizes a load sample takes.
   * @internal Set by the cluster layer (`ShoalNode`'s `load` option).
   */
  load?: LoadMeterOptions;
}

/** What a runtime tells of its keep-alive and pre-warmed actors (see {@link RuntimeOptions.keepAlive}). @internal */
export interface KeepAliveHooks {
  /** A keep-alive or pre-warmed actor was activated by a message. */
  activated(key: ActorKey): void;
  /** A keep-alive actor stopped itself (it is kept alive no more), or a pre-warmed one passivated. */
  stopped(key: ActorKey): void;
}

/** What {@link Runtime.stats} reports: a moment's load. */
export interface RuntimeStats {
  /** Actors in memory now (activated and not yet passivated). */
  activeActors: number;
  /** Messages waiting in mailboxes, over all actors (messages held by a pause not included). */
  mailboxDepth: number;
  /** Selector pauses in progress (the holds of shard moves are not counted). */
  pausedGroups: number;
}
