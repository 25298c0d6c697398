import type { EventSourcedActor } from "../actor/spec.js";

/**
 * One event of the journal as a projection sees it: which actor, where in its journal and in
 * the stream, and the event itself.
 */
export interface ProjectedEvent<E = unknown> {
  /** The actor's type. */
  readonly type: string;
  /** The actor's id. */
  readonly id: string;
  /** The actor's version after this event. */
  readonly version: number;
  /** The event, as the codec returned it. */
  readonly event: E;
  /** Stream sequence of the batch that holds the event: one per append, rising across the whole journal. */
  readonly seq: number;
  /** The event's index in its batch (0 for the first). `(seq, index)` names an event for good. */
  readonly index: number;
  /** When the batch was appended (ms since the epoch, the server's clock). */
  readonly time: number;
}

/**
 * The projection's own KV view, written exactly once per event: every `set` and `delete` a
 * handler makes is committed in one atomic batch with the partition's checkpoint, so an event
 * replayed after a crash or a move finds its writes already there and makes them no second time.
 * Values are JSON (what `JSON.stringify` keeps).
 */
export interface ViewWriter<V> {
  /** The entry as this partition last committed or staged it, or undefined. */
  get(key: string): Promise<V | undefined>;
  /** Stages `value` for `key`; committed with the checkpoint. */
  set(key: string, value: V): void;
  /** Stages the removal of `key`; committed with the checkpoint. */
  delete(key: string): void;
}

/** What a projection handler is given beside the event. */
export interface ProjectionContext<V> {
  /** The view, exactly once (see {@link ViewWriter}). Effects anywhere else are at least once. */
  readonly view: ViewWriter<V>;
  /** The partition running the handler (0 … count − 1). */
  readonly partition: number;
  /** Which build of the projection this is (1, then one more per rebuild). */
  readonly build: number;
}

/**
 * Which events go to which partition. One actor's events always go to one partition, in order:
 * - `"actor"` (the default): the actor's hash;
 * - `"tenant"`: the hash of the id's prefix before its first `/` (the whole id when it has none),
 *   so one tenant's actors are handled by one worker in order;
 * - a function: the hash of the key it returns for the actor (same key, same partition).
 */
export type PartitionBy = "actor" | "tenant" | ((type: string, id: string) => string);

/** How many partitions and how events are spread over them. */
export interface Partitioning {
  /** Partitions (1 … 1024), each consumed by exactly one node at a time. */
  readonly count: number;
  /** Default `"actor"`. */
  readonly by?: PartitionBy;
}

/** What to do with an event whose handler keeps failing. */
export type FailureAction = "dead-letter" | "skip" | "stop";

/** Retry with exponential backoff, then {@link FailureAction}. */
export interface FailurePolicy {
  /** Attempts after the first (default 5). */
  readonly retries?: number;
  /** First pause in ms (default 100), doubled each retry up to {@link maxBackoff}. */
  readonly backoff?: number;
  /** Longest pause in ms (default 5000). */
  readonly maxBackoff?: number;
  /**
   * After the last retry (default `"dead-letter"`):
   * - `"dead-letter"`: the event goes to the cluster's dead-letter bucket and the partition goes
   *   on; `shoal dlq retry` applies it later, exactly once;
   * - `"skip"`: logged and counted, then passed over;
   * - `"stop"`: the partition stops before the event and alerts (a `projection` cluster event and
   *   an error log); `shoal projection resume` starts it again.
   */
  readonly action?: FailureAction;
}

/** Where a projection reads from. */
export type ProjectionSource<E> =
  // biome-ignore lint/suspicious/noExplicitAny: any actor whose events are E, whatever its state, messages and replies
  | readonly (EventSourcedActor<any, any, any, E> | string)[]
  | {
      /**
       * Subject filters under the journal, `<type>.<token(id)>` with NATS wildcards: `"*.*"` is
       * every actor, `"account.*"` every account.
       */
      readonly subjects: readonly string[];
    };

/** What {@link defineProjection} is given. */
export interface ProjectionSpec<E, V> {
  /** `[A-Za-z][A-Za-z0-9_-]{0,63}`: names the projection's bucket, metrics and commands. */
  readonly name: string;
  /** Actor types (definitions or names) whose events it reads, or subject filters. */
  readonly from: ProjectionSource<E>;
  /** A count (partitioned by actor) or {@link Partitioning}. Default 1. */
  readonly partitions?: number | Partitioning;
  /**
   * Called once per event, in journal order within a partition. A throw is retried, then handled
   * by {@link onFailure}. Writes through `ctx.view` are exactly once.
   */
  handle(event: ProjectedEvent<E>, ctx: ProjectionContext<V>): void | Promise<void>;
  /** Default: 5 retries from 100 ms, then dead-letter. */
  readonly onFailure?: FailurePolicy;
}

/** A checked projection, ready for `ShoalNode.start({projections})`. */
// biome-ignore lint/suspicious/noExplicitAny: as for EventSourcedActor: the defaults make every projection a ProjectionDefinition
export interface ProjectionDefinition<E = any, V = any> {
  /** Tells a projection from an actor type among a module's exports. */
  readonly kind: "projection";
  /** Its name (bucket, metrics, commands). */
  readonly name: string;
  /** Subject filters under the journal (`<type>.<token>` patterns). */
  readonly subjects: readonly string[];
  /** How many partitions and how events are spread over them (defaults filled in). */
  readonly partitions: Required<Partitioning>;
  /** The handler, once per event. */
  readonly handle: ProjectionSpec<E, V>["handle"];
  /** What a failing event gets (defaults filled in). */
  readonly onFailure: Required<FailurePolicy>;
}
