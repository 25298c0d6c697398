import { checkActorTypeName } from "./names.js";

/** What a turn knows about where and when it runs. */
export interface TurnContext {
  readonly type: string;
  readonly id: string;
  /** The `--id` of the node running this turn. */
  readonly node: string;
  /** The actor's version before this turn (events so far, or turns so far for in-memory actors). */
  readonly version: number;
  /** Milliseconds since the epoch, from the runtime's clock. */
  readonly now: number;
}

/** What an event-sourced turn decides: the events to persist (maybe none) and the reply. */
export interface Decision<R, E> {
  readonly events?: readonly E[];
  readonly reply: R;
}

/** What an in-memory turn decides: the next state and the reply. */
export interface Transition<S, R> {
  readonly state: S;
  readonly reply: R;
}

/** Options both kinds of actor share. */
interface CommonSpec<S, M> {
  /** Type name, `[A-Za-z][A-Za-z0-9_-]{0,63}`. */
  readonly type: string;
  /** State of an actor that has never handled a message. */
  initialState(id: string): S;
  /**
   * Turns untrusted input into a typed message or throws a `BadRequestError`. Runs before the
   * message reaches the mailbox, so an invalid message never costs a turn or changes state.
   */
  validate(input: unknown): M;
  /** Idle time after which the activation is dropped from memory. */
  readonly passivateAfter?: number;
  /** Most messages waiting in one actor's mailbox; past it asks fail with OVERLOADED. */
  readonly mailboxCapacity?: number;
}

/**
 * An event-sourced actor: the event store is the source of truth, state is a fold of events.
 * `handle` must not mutate `state`; `evolve` may return a new object or mutate and return it.
 */
export interface EventSourcedSpec<S, M, R, E> extends CommonSpec<S, M> {
  handle(state: Readonly<S>, msg: M, ctx: TurnContext): Decision<R, E> | Promise<Decision<R, E>>;
  evolve(state: S, event: E): S;
  /** Save a snapshot every this many events (default 100; 0 turns snapshots off). */
  readonly snapshotEvery?: number;
  /** State ↔ codec-safe data, for snapshots and handoff (default: the state as it is). */
  readonly snapshot?: {
    toData(state: S): unknown;
    fromData(data: unknown): S;
  };
}

/** A plain in-memory actor: state lives only in memory and moves by serialize/deserialize. */
export interface InMemorySpec<S, M, R> extends CommonSpec<S, M> {
  handle(state: S, msg: M, ctx: TurnContext): Transition<S, R> | Promise<Transition<S, R>>;
  serialize(state: S): unknown;
  deserialize(data: unknown): S;
}

export interface EventSourcedActor<S = any, M = any, R = any, E = any> extends EventSourcedSpec<S, M, R, E> {
  readonly kind: "event-sourced";
  readonly snapshotEvery: number;
  readonly snapshot: { toData(state: S): unknown; fromData(data: unknown): S };
}

export interface InMemoryActor<S = any, M = any, R = any> extends InMemorySpec<S, M, R> {
  readonly kind: "in-memory";
}

/** Any actor type the runtime can host. */
export type ActorDefinition = EventSourcedActor | InMemoryActor;

/** Message type of an actor definition, for typed clients. */
export type MessageOf<A> = A extends EventSourcedActor<any, infer M> ? M : A extends InMemoryActor<any, infer M> ? M : never;
/** Reply type of an actor definition. */
export type ReplyOf<A> = A extends EventSourcedActor<any, any, infer R> ? R : A extends InMemoryActor<any, any, infer R> ? R : never;

const DEFAULT_SNAPSHOT_EVERY = 100;

/** Defines an event-sourced actor type. */
export function defineActor<S, M, R, E>(spec: EventSourcedSpec<S, M, R, E>): EventSourcedActor<S, M, R, E> {
  checkCommon(spec);
  const snapshotEvery = spec.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  if (!Number.isInteger(snapshotEvery) || snapshotEvery < 0) {
    throw new TypeError(`snapshotEvery must be a non-negative integer, got ${snapshotEvery}`);
  }
  return Object.freeze({
    ...spec,
    kind: "event-sourced" as const,
    snapshotEvery,
    snapshot: spec.snapshot ?? { toData: (s: S) => s as unknown, fromData: (d: unknown) => d as S },
  });
}

/** Defines a plain in-memory actor type (never passivated unless `passivateAfter` is set). */
export function defineInMemoryActor<S, M, R>(spec: InMemorySpec<S, M, R>): InMemoryActor<S, M, R> {
  checkCommon(spec);
  return Object.freeze({ ...spec, kind: "in-memory" as const });
}

function checkCommon(spec: CommonSpec<unknown, unknown>): void {
  checkActorTypeName(spec.type);
  for (const [name, v] of [
    ["passivateAfter", spec.passivateAfter],
    ["mailboxCapacity", spec.mailboxCapacity],
  ] as const) {
    if (v !== undefined && !(typeof v === "number" && v > 0)) {
      throw new TypeError(`${name} of actor type ${spec.type} must be a positive number`);
    }
  }
}
