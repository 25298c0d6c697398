/**
 * The event store contract. The store is the source of truth of every event-sourced actor:
 * a live handoff only saves a replay, never data.
 *
 * Versions count events: an actor with no events is at version 0, and a batch of `k` events
 * appended at version `v` occupies versions `v+1 … v+k` and is stored atomically (all or none).
 *
 * Two implementations pass one conformance suite (`test/store-conformance.ts`):
 * {@link MemoryEventStore} for tests and the JetStream store for everything real.
 */

/** Which actor's journal. `type` is a checked type name, `id` any well-formed UTF-8 string. */
export interface ActorKey {
  /** The actor's type name. */
  readonly type: string;
  /** The actor's id. */
  readonly id: string;
}

/** One event of a journal, with its place in it. */
export interface StoredEvent<E = unknown> {
  /** Version of the actor after this event. */
  readonly version: number;
  /** The event as the codec returned it (a fresh copy on every read). */
  readonly event: E;
}

/** An actor's state at a version, saved so that loading replays fewer events. */
export interface Snapshot<S = unknown> {
  /** Version of the actor whose state this is (number of events folded into it). */
  readonly version: number;
  /** Codec-safe data (the actor type's own snapshot form of its state). */
  readonly state: S;
  /**
   * The runtime's bookkeeping at this version (codec-safe: outgoing messages not yet
   * acknowledged, the last message applied from each sending actor); stored and returned as it is.
   */
  readonly meta?: unknown;
}

/** The runtime's bookkeeping stored with one batch, beside its events (see {@link EventStore.append}). */
export interface BatchMeta {
  /** Version of the actor after the batch. */
  readonly version: number;
  /** What was appended with the batch, as the codec returned it. */
  readonly meta: unknown;
}

/** What an activation needs: the newest usable snapshot and every event after it. */
export interface LoadedJournal {
  /** The snapshot to start from, or undefined to start from the initial state. */
  readonly snapshot: Snapshot | undefined;
  /** Events with versions above the snapshot's (or from 1), in order, gap-free. */
  readonly events: readonly StoredEvent[];
  /** The actor's current version: the last event's, or the snapshot's, or 0. */
  readonly version: number;
  /** The bookkeeping of the batches above the snapshot's version that carry one, in order (absent: none). */
  readonly metas?: readonly BatchMeta[];
}

/**
 * Where event-sourced actors persist: per actor, an append-only journal of events with
 * optimistic concurrency, and best-effort snapshots. Shoal's own are the JetStream store (what
 * nodes use) and {@link MemoryEventStore}; implement it for a runtime on another database.
 * Every method but `close` rejects with UNAVAILABLE once the store is closed.
 */
export interface EventStore {
  /**
   * Appends `events` (at least one) atomically if and only if the actor is at `expectedVersion`.
   * Resolves to the new version. Rejects with a `ConflictError` (code CONFLICT) when the actor
   * is at any other version, including when a concurrent writer won the same version: the
   * batch is then not stored, never merged. Its `details` are `{expected, actual?}`.
   *
   * Rejects with a `BadRequestError` (code BAD_REQUEST), storing nothing, when `events` is empty
   * or not an array, `expectedVersion` is not a non-negative integer, the key is not a valid
   * actor key, or an event does not survive the codec (functions, BigInt, past its limits).
   * Events are stored as the codec carries them: reads return the decoded form (e.g. an
   * `undefined` property is gone). A `TimeoutError` (code TIMEOUT) means the outcome is unknown.
   *
   * `meta` (optional, codec-safe) is the runtime's bookkeeping of the turn: its outgoing
   * messages and the origin of the message it applied. It is stored atomically with the events,
   * never folded by `evolve` nor returned by {@link read}, and given back by {@link load} for the
   * batches after the snapshot. A store that drops it loses the exactly-once delivery of
   * messages between actors.
   */
  append(key: ActorKey, events: readonly unknown[], expectedVersion: number, meta?: unknown): Promise<number>;

  /** Events with version greater than `afterVersion` (default 0 = all), in order. */
  read(key: ActorKey, afterVersion?: number): Promise<StoredEvent[]>;

  /** The actor's current version (0 when it has no events). */
  version(key: ActorKey): Promise<number>;

  /**
   * Stores a snapshot. Best-effort: a snapshot only shortens replay. A snapshot for a version
   * the journal does not have is ignored on load, never trusted.
   */
  saveSnapshot(key: ActorKey, snapshot: Snapshot): Promise<void>;

  /** The newest snapshot, if any. */
  loadSnapshot(key: ActorKey): Promise<Snapshot | undefined>;

  /**
   * Snapshot + tail: what activation uses. Always equivalent to a full replay. A snapshot is
   * used only when the store can confirm it against the journal (it was taken at a version the
   * journal had, at the end of a batch, and the journal still holds that batch there); any
   * other snapshot is passed over at the cost of a longer replay, never trusted.
   */
  load(key: ActorKey): Promise<LoadedJournal>;

  /** Releases resources (not the NATS connection, which the caller owns). */
  close(): Promise<void>;
}
