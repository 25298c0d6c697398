import type { ReminderWhen } from "../reminders/schedule.js";
import type { ReminderInfo } from "../reminders/service.js";
import type { TurnTopics } from "../topics/types.js";
import type { ActorType, Call, MessageOf, ReplyOf } from "./calls.js";

/** What a turn or a lifecycle hook knows about where and when it runs. */
export interface ActorContext {
  /** The actor's type name. */
  readonly type: string;
  /** The actor's id. */
  readonly id: string;
  /** The `--id` of the node running this turn. */
  readonly node: string;
  /** The actor's version before this turn (events so far, or turns so far for in-memory actors). */
  readonly version: number;
  /** Milliseconds since the epoch, from the runtime's clock. */
  readonly now: number;
}

/** When a timer fires: once after `ms`, or every `every` ms (the first time after `after`, default `every`). */
export type TimerDelay =
  | number
  | {
      /** Period (ms): the next firing is due this long after the previous firing's turn finished. */
      readonly every: number;
      /** Delay (ms) of the first firing (default: `every`). */
      readonly after?: number;
    };

/**
 * The actor's timers, as a turn sees them (`ctx.timers`). A timer sends the actor one of its own
 * messages (`M`) later: it arrives through the mailbox like any message, is checked by the type's
 * `validate` when it fires, and runs as an ordinary turn, one at a time with the others.
 *
 * - **Part of the turn.** Starts and cancels take effect only if the turn succeeds (for an
 *   event-sourced actor, once its events are stored); a turn that throws or whose append fails
 *   leaves the timers as they were. Within the turn, {@link isSet} already sees them.
 * - **One per name.** Starting a name that is set replaces it; a replaced or cancelled timer
 *   never delivers again, not even a message it had already queued.
 * - **Periodic timers do not pile up** (fixed delay): the next firing is due `every` ms after
 *   the previous firing's turn has finished, so at most one firing per timer waits in the mailbox.
 * - **Activation-scoped.** Timers move with the actor in a live handoff (each with its remaining
 *   delay) and keep it from being passivated while one is set; they are lost on a crash, on a
 *   handoff that falls back to the event store, and when the runtime stops. Durable work needs
 *   reminders (not yet available).
 */
export interface Timers<M = unknown> {
  /**
   * Sets timer `name` (1–200 characters; at most 256 per actor) to deliver `msg` after `delay`
   * ms, or every `delay.every` ms. Delays are at most 2³¹−1 ms (~24.8 days); `every` ≥ 1 ms.
   * `msg` must survive the codec (it moves with the actor). A TypeError for arguments out of range.
   */
  start(name: string, delay: TimerDelay, msg: M): void;
  /** Cancels timer `name` (nothing if it is not set): it fires no more, even if it was due. */
  cancel(name: string): void;
  /** Whether timer `name` is set, counting this turn's starts and cancels so far. */
  isSet(name: string): boolean;
}

/**
 * Another actor, as a turn addresses it (`ctx.ref(definition, id)`).
 *
 * - **`send` and `tell` are part of the turn.** They queue the message and return; it leaves
 *   once the turn has been applied, and not at all if the turn throws or its append fails. For an
 *   event-sourced sender the message is stored with the turn's events (an outbox, so such a turn
 *   must record at least one event), sent once they are stored, and sent again by whoever loads
 *   the actor next (after a crash, a move or a failover) until the receiver has applied it; the
 *   receiver applies each once. It therefore takes effect exactly once, whatever fails. For an
 *   in-memory sender it is sent once after the turn, like a `tell` from outside: a crash of its
 *   node, or a failure past the router's retries, loses it (logged).
 * - **`ask` is a call made during the turn**: the turn awaits the reply. Its timeout is capped by
 *   what remains of the message's own; a chain of asks that comes back to an actor already
 *   waiting in it (A→B→A) fails at once with CALL_CYCLE instead of waiting out a timeout. While a
 *   turn waits, its actor takes no other message, and a move of its shard waits for the turn
 *   (at most the ask's timeout).
 */
export interface TurnRef<A extends ActorType = ActorType> {
  /** The actor's type name. */
  readonly type: string;
  /** The actor's id. */
  readonly id: string;
  /** Asks during the turn (see above); the reply's type follows the message. */
  ask<Msg extends MessageOf<A>>(msg: Msg, opts?: { timeout?: number }): Promise<ReplyOf<A, Msg>>;
  /** Queues `msg` to go once this turn is applied; delivered exactly once by an event-sourced sender. */
  send(msg: MessageOf<A>): void;
  /** Like {@link send}; a refusal by the receiver is logged at debug instead of warn. */
  tell(msg: MessageOf<A>): void;
}

/**
 * The actor's durable reminders, as a turn sees them (`ctx.reminders`). A reminder sends the actor
 * one of its own messages (`M`, checked by its `validate` when set) at a time, every period, or on
 * a cron schedule, until cancelled (a one-shot ends when it has fired).
 *
 * - **Durable.** Stored in JetStream (by the actor's shard) before the turn's reply; they survive
 *   passivation, moves, crashes and restarts. The shard's owner fires them, activating the actor
 *   if needed; after a crash the new owner fires what came due, within failover plus ~1 s.
 * - **Part of the turn.** Sets and cancels apply only if the turn succeeds. If storing them fails
 *   after an event-sourced turn's events were stored, the call fails with that error (the events
 *   stay).
 * - **Once per firing.** A firing carries a stable id (the reminder's name, when it was set, and the
 *   firing's number); an event-sourced actor records it with the turn's events and applies each
 *   firing once, even when a new owner fires it again. An in-memory actor may see a firing twice
 *   across a crash. A firing the actor refuses (REJECTED) counts as fired; any other failure is
 *   retried.
 * - Repeating reminders skip periods they missed (no burst after an outage).
 */
export interface Reminders<M = unknown> {
  /**
   * Sets reminder `name` (1–100 characters; at most 256 per actor), replacing one of that name:
   * `{at}` (ms since the epoch or a Date), `{every, at?}` (ms ≥ 100; first at `at`, default one
   * period from now) or `{cron, tz?}` (5 or 6 fields; tz an IANA zone, default UTC). A TypeError
   * for a bad name or schedule; the type's validate checks `msg`.
   */
  set(name: string, when: ReminderWhen, msg: M): void;
  /** Cancels reminder `name` (nothing if it is not set). */
  cancel(name: string): void;
  /** The actor's reminders, counting this turn's changes, soonest first. */
  list(): ReminderInfo<M>[];
}

/** What a turn knows about where and when it runs, its {@link Timers} and {@link Reminders}, its topics, and references to other actors. */
export interface TurnContext<M = unknown> extends ActorContext {
  /** The actor's timers: each delivers one of the actor's own messages later. */
  readonly timers: Timers<M>;
  /** The actor's durable reminders. */
  readonly reminders: Reminders<M>;
  /**
   * Topics: subscribe this actor, unsubscribe it, publish; each part of the turn like a `send`
   * (see {@link TurnTopics}).
   */
  readonly topics: TurnTopics<M>;
  /**
   * A reference to another actor (or this one) for this turn: `send`/`tell` leave with the turn,
   * `ask` waits for the reply (see {@link TurnRef}). A definition's `validate` checks a message
   * when it is queued (BAD_REQUEST in the turn); an {@link actorType} checks it at the receiver.
   */
  ref<A extends ActorType>(type: A, id: string): TurnRef<A>;
  /**
   * Ends this activation once the turn (or `onActivate`) has succeeded — for an event-sourced
   * actor, once its events are stored; a turn that throws or whose append fails does not stop —
   * and the messages already waiting behind it have run: its timers are cancelled and
   * `onPassivate` runs, as when the idle sweep drops it, and its next message starts a fresh
   * activation. For a {@link CommonSpec.keepAlive} type it is also how the actor stops being kept
   * alive: its durable record is deleted, so no node starts it again until a message activates it
   * (which keeps it alive again). A singleton runs for as long as its cluster does: calling it
   * throws a TypeError, as does calling it after the turn has ended.
   */
  stop(): void;
}

/**
 * Optional hooks of an actor type, both kinds and both forms. A hook that throws (or whose
 * promise rejects) is logged and changes nothing else: the activation goes on.
 */
export interface Lifecycle<S, M> {
  /**
   * Runs once per activation, after its state is loaded and before its first turn (the message
   * that activated it waits). It must not change the state; it may start timers (applied only if
   * it does not throw). Not run for an actor that arrives by a live handoff: that actor goes on
   * where it was, its timers with it.
   */
  onActivate?(state: Readonly<S>, ctx: TurnContext<M>): void | Promise<void>;
  /**
   * Runs before the activation is dropped by the passivation sweep or a runtime stop (a stop
   * waits for its promise). Not run on a crash, nor when the actor leaves in a live handoff. It
   * must not change the state.
   */
  onPassivate?(state: Readonly<S>, ctx: ActorContext): void | Promise<void>;
}

/** What an event-sourced turn decides: the events to persist (maybe none) and the reply. */
export interface Decision<R, E> {
  /**
   * Events to append, atomically, at the version the turn saw (omitted or empty: nothing is
   * written). Once stored, each is folded into the state by `evolve`; if the append fails
   * (CONFLICT, TIMEOUT, UNAVAILABLE…), the caller gets that error and the actor reloads.
   */
  readonly events?: readonly E[];
  /** What `ask` resolves to, once the events are stored. Codec-safe: it may cross the wire. */
  readonly reply: R;
}

/** What an in-memory turn decides: the next state and the reply. */
export interface Transition<S, R> {
  /** The actor's state after this turn (a new object, or `state` mutated). */
  readonly state: S;
  /** What `ask` resolves to. Codec-safe: it may cross the wire. */
  readonly reply: R;
}

/**
 * Turns untrusted input into a typed value, or throws (a `BadRequestError`, or any error, which
 * becomes one). It must accept its own output: a message that waited in a paused shard is
 * validated again on the node it moves to. {@link fromSchema} makes one from a Standard Schema
 * (zod, valibot, arktype…).
 *
 * In a message map, TypeScript takes each payload's type from its validate. Give it as a
 * function value (`validate: checkDeposit`), `fromSchema(...)`, or an arrow whose input is
 * annotated (`validate: (input: unknown) => …`): an unannotated parameter, or method syntax,
 * makes TypeScript infer the payload as `unknown`.
 */
export type Validate<T> = (input: unknown) => T;

/**
 * What happens when a message finds its actor's mailbox full (`mailboxCapacity` messages queued
 * or kept aside for their sender's order):
 *
 * - `"reject"` (the default): the new message fails with OVERLOADED and is not queued.
 * - `"drop-oldest"`: the oldest queued message is failed with OVERLOADED (`details.dropped`:
 *   true; its asker hears it, a tell's failure is counted where tells' failures are) and the new
 *   one is queued. A timer's firing is never dropped (at most one per timer waits, outside the
 *   capacity), nor a message the order gate keeps aside for its sender (it is not in the
 *   mailbox); when nothing else is queued the new message fails as with `"reject"`. A message
 *   from another actor's outbox, or a reminder's firing, that is dropped is sent again by its
 *   sender, as after any failure, so it still takes effect once. A dropped message that carried
 *   a client's `sender`/`seq` moves its sender on, as an expired one does.
 * - `"wait"`: the new message waits, in arrival order, until a turn makes room; a message that
 *   waits past its own deadline fails with TIMEOUT. Waiting messages are carried by a pause and
 *   a live handoff like queued ones (in order, once), and are counted in the mailbox depth.
 *   Memory is bounded by the callers' deadlines only: pair it with bounded callers (a producer
 *   that awaits `tell`, asks with a window).
 */
export type MailboxOverflow = "reject" | "drop-oldest" | "wait";

/** Options every actor type has, whatever its kind and form. */
export interface CommonSpec<S> {
  /** Type name, `[A-Za-z][A-Za-z0-9_-]{0,63}`. */
  readonly type: string;
  /** State of an actor that has never handled a message. */
  initialState(id: string): S;
  /**
   * Idle time (ms) after which the activation is dropped from memory. Default: the runtime's
   * (5 min) for event-sourced types; never for in-memory ones, whose state would be lost.
   */
  readonly passivateAfter?: number;
  /**
   * Most messages waiting in one actor's mailbox (default: the runtime's, 1000); past it messages
   * fail with OVERLOADED.
   */
  readonly mailboxCapacity?: number;
  /** What a message that finds the mailbox full gets (default `"reject"`); see {@link MailboxOverflow}. */
  readonly overflow?: MailboxOverflow;
  /**
   * Keep activated actors of this type running (Akka's remember-entities; default false). Once a
   * message has activated one, it is never passivated for being idle, and on a cluster its
   * shard's owner activates it again — without waiting for a message, running `onActivate` — after
   * the shard moves and after its node crashes: a durable record per actor, keyed by shard, says
   * which actors to start. It stops being kept alive when a turn calls {@link TurnContext.stop}.
   * Not with `passivateAfter` (a TypeError).
   */
  readonly keepAlive?: boolean;
  /**
   * Pre-warm this type's actors when their shard changes owner (default false). While one is in
   * memory it is recorded under its shard (the keep-alive bucket, deleted when it passivates);
   * a node that gains the shard — by a live handoff, where it activates those the source could
   * not hand over with their state, or after the owner crashed, where nothing was handed over —
   * loads and activates the recorded ones at once (running `onActivate`) instead of on their
   * next message. Unlike `keepAlive` they then passivate when idle as usual. Costs one KV write
   * per activation and one per passivation. Not with `keepAlive` (a TypeError: that restarts
   * them already).
   */
  readonly prewarm?: boolean;
  /**
   * The node roles this type runs on (Akka's entity roles; default: every node). On a cluster its
   * actors are placed only on nodes started with one of these roles (`shoal node --roles`), in a
   * shard group of their own balanced over those nodes; with no such node in the cluster, calls
   * fail with UNAVAILABLE saying which role is missing. Names like type names, 1–32 of them.
   * Changing a type's roles re-homes its actors (a new shard each), without a live handoff.
   */
  readonly roles?: readonly string[];
  /**
   * The tenant an actor id belongs to, for tenant pinning (`shoal pin set <type> <tenant>`): every
   * actor of a pinned tenant lives in one shard of its own, placed on the pin's node or role.
   * Default: the id's prefix before the first `/` (the whole id when it has none). Must be a pure
   * function of the id; one that throws, or returns anything but a string, counts as the default.
   */
  readonly tenant?: (id: string) => string;
}

/**
 * When an event-sourced type saves snapshots besides every `snapshotEvery` events. Each saves
 * only when the actor has events beyond its last snapshot; all are best-effort (a failed save
 * is logged and costs a longer replay, never data).
 */
export interface SnapshotPolicy {
  /** When the activation is dropped by passivation or a runtime stop (default false): its next load replays nothing. */
  readonly onPassivate?: boolean;
  /** When the actor leaves this node in a live handoff (default false). */
  readonly onHandoff?: boolean;
  /**
   * Adaptive (default false): long and hot journals snapshot more. Right after a load that
   * replayed a quarter of `snapshotEvery` events or more (snapshots lag: a failed save, a changed
   * interval), so the next load is short; and every `snapshotEvery / 2` events while the actor is
   * hot (it appended `snapshotEvery` events or more within a minute).
   */
  readonly adaptive?: boolean;
}

/** Options of an event-sourced actor type, whatever its form. */
export interface EventSourcedCommon<S, E> extends CommonSpec<S> {
  /** The state after one event. May return a new object or mutate `state` and return it. */
  evolve: (state: S, event: E) => S;
  /** Save a snapshot every this many events (default 100; 0 turns snapshots off). */
  readonly snapshotEvery?: number;
  /** When else to save a snapshot (each only if events came since the last one). */
  readonly snapshotPolicy?: SnapshotPolicy;
  /** State ↔ codec-safe data, for snapshots and handoff (default: the state as it is). */
  readonly snapshot?: {
    /** The state as codec-safe data. Must not mutate `state`. */
    toData(state: S): unknown;
    /** The state back from what `toData` returned (maybe by an earlier version of your code). */
    fromData(data: unknown): S;
  };
}

/** Options of an in-memory actor type, whatever its form. */
export interface InMemoryCommon<S> extends CommonSpec<S> {
  /**
   * Lets a call come back to this actor through a chain of asks its own waiting turn started
   * (A asks B, B asks A; or A asks itself): it runs at once, between the waiting turn's awaits,
   * on the same state object, instead of failing with CALL_CYCLE (default false). The waiting
   * turn must read the state after its awaits and return it (mutated), not a copy made before,
   * or the reentrant turn's changes are lost. In-memory types only: an event-sourced turn that
   * waits has already decided on the state it saw.
   */
  readonly reentrant?: boolean;
  /** State → codec-safe data, to move it to another node. */
  serialize(state: S): unknown;
  /** Inverse of {@link serialize}. */
  deserialize(data: unknown): S;
}

/**
 * An event-sourced actor type with one handler for every message (the messages are one type
 * `M`, the replies one type `R`). For a reply type per message, use `messages` instead
 * ({@link EventSourcedMapSpec}).
 */
export interface EventSourcedSpec<S, M, R, E> extends EventSourcedCommon<S, E>, Lifecycle<S, M> {
  /** Runs before the message reaches the mailbox: an invalid message costs no turn. */
  validate: Validate<M>;
  /** Decides a turn. Must not mutate `state`; throw a `RejectedError` to refuse. */
  handle(state: Readonly<S>, msg: M, ctx: TurnContext<M>): Decision<R, E> | Promise<Decision<R, E>>;
}

/** A plain in-memory actor type with one handler for every message. */
export interface InMemorySpec<S, M, R> extends InMemoryCommon<S>, Lifecycle<S, M> {
  /** Runs before the message reaches the mailbox: an invalid message costs no turn. */
  validate: Validate<M>;
  /**
   * Runs a turn: the next state and the reply. May mutate `state`, but a mutation made before a
   * throw stays. Throw a `RejectedError` to refuse; any other error reaches the caller too (as
   * INTERNAL from another node).
   */
  handle(state: S, msg: M, ctx: TurnContext<M>): Transition<S, R> | Promise<Transition<S, R>>;
}

/**
 * One message of an event-sourced message map: its payload's check and its handler. `M` is the
 * type's whole message (what its timers may send).
 */
export interface EventSourcedHandler<S, E, P, R, M = unknown> {
  /** Checks this message's payload (the value under its name) before it is queued. */
  validate: Validate<P>;
  /**
   * Decides a turn for this message, like {@link EventSourcedSpec.handle}. Must not mutate `state`.
   */
  handle(state: Readonly<S>, payload: P, ctx: TurnContext<M>): Decision<R, E> | Promise<Decision<R, E>>;
}

/** One message of an in-memory message map (`M` as in {@link EventSourcedHandler}). */
export interface InMemoryHandler<S, P, R, M = unknown> {
  /** Checks this message's payload (the value under its name) before it is queued. */
  validate: Validate<P>;
  /** Runs a turn for this message, like {@link InMemorySpec.handle}. */
  handle(state: S, payload: P, ctx: TurnContext<M>): Transition<S, R> | Promise<Transition<S, R>>;
}

/**
 * An event-sourced actor type as a message map: a message is `{"<name>": payload}` (exactly one
 * key), and each name has its own payload check, handler and reply type, so a reference's `ask`
 * answers the reply of the message it was given.
 */
export interface EventSourcedMapSpec<S, E, H, M = MapMessage<H>> extends EventSourcedCommon<S, E>, Lifecycle<S, M> {
  /** One entry per message name: its {@link EventSourcedHandler} (`validate` and `handle`). */
  readonly messages: H;
}

/** An in-memory actor type as a message map (see {@link EventSourcedMapSpec}). */
export interface InMemoryMapSpec<S, H, M = MapMessage<H>> extends InMemoryCommon<S>, Lifecycle<S, M> {
  /** One entry per message name: its {@link InMemoryHandler} (`validate` and `handle`). */
  readonly messages: H;
}

/** A defined event-sourced actor type, as the runtime hosts it. */
// biome-ignore lint/suspicious/noExplicitAny: the defaults make every actor type an ActorDefinition; unknown would refuse a typed evolve
export interface EventSourcedActor<S = any, M = any, R = any, E = any, C = Call<M, R>> extends EventSourcedSpec<S, M, R, E>, ActorType<C> {
  /** Tells the two kinds apart. */
  readonly kind: "event-sourced";
  readonly snapshotEvery: number;
  /** The snapshot form given, or the identity (the state is stored as it is). */
  readonly snapshot: {
    /** The state as codec-safe data. */
    toData(state: S): unknown;
    /** The state back from what `toData` returned. */
    fromData(data: unknown): S;
  };
}

/** A defined in-memory actor type, as the runtime hosts it. */
// biome-ignore lint/suspicious/noExplicitAny: as for EventSourcedActor
export interface InMemoryActor<S = any, M = any, R = any, C = Call<M, R>> extends InMemorySpec<S, M, R>, ActorType<C> {
  /** Tells the two kinds apart. */
  readonly kind: "in-memory";
}

/** Any actor type the runtime can host. */
export type ActorDefinition = EventSourcedActor | InMemoryActor;

/** The payload type a message-map entry validates to. */
export type PayloadOf<H> = H extends { validate: Validate<infer P> } ? P : never;

/** The reply type a message-map entry's handler answers. */
export type HandlerReply<H> = H extends { handle(...args: never[]): infer D } ? (Awaited<D> extends { reply: infer R } ? R : never) : never;

/** The messages of a message map: `{"<name>": payload}`, one per name. */
export type MapMessage<H> = { [K in keyof H & string]: { [N in K]: PayloadOf<H[K]> } }[keyof H & string];

/** The calls of a message map: each name's message with its own reply. */
export type MapCalls<H> = { [K in keyof H & string]: Call<{ [N in K]: PayloadOf<H[K]> }, HandlerReply<H[K]>> }[keyof H & string];

/** The messages of a message map whose payloads are `P` (name → payload): `{"<name>": payload}`, one per name. */
export type PayloadMessage<P> = { [K in keyof P & string]: { [N in K]: P[K] } }[keyof P & string];
