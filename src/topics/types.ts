import type { Validate } from "../actor/spec.js";
import type { CallOptions } from "../ref.js";

/**
 * A topic: a name, the group it belongs to, and the check its messages pass. Made by
 * {@link defineTopic}; `T` is the type of its messages.
 */
export interface TopicDefinition<T = unknown> {
  /** The topic's name (1–256 UTF-8 bytes). */
  readonly name: string;
  /** The group the topic belongs to (its broker's id); the default is the topic's name. */
  readonly group: string;
  /** Checks a message before it is published (a refusal is a BAD_REQUEST, and nothing is published). */
  readonly validate: Validate<T>;
}

/** The type of a topic's messages. */
export type TopicMessage<D> = D extends TopicDefinition<infer T> ? T : never;

/**
 * The names of the message-map entries of `M` (an actor's whole message, `{"<name>": payload}`
 * one per name) whose payload accepts a `T`: the messages that can receive a topic of `T`.
 */
export type DeliveryName<M, T> = M extends unknown ? { [K in keyof M & string]: [T] extends [M[K]] ? K : never }[keyof M & string] : never;

/**
 * The `as` argument of {@link TurnTopics.subscribe}: optional when the actor's message accepts a `T`
 * as it is, required (one of the {@link DeliveryName}s) otherwise; any string for an untyped context.
 */
export type DeliveryAs<M, T> = unknown extends M ? [as?: string] : [T] extends [M] ? [as?: DeliveryName<M, T>] : [as: DeliveryName<M, T>];

/**
 * The topics as a turn sees them (`ctx.topics`). Each call is part of the turn, like a
 * `ctx.ref(...).send`: it leaves once the turn has been applied, and not at all if the turn
 * throws. From an event-sourced actor it is stored with the turn's events (so the turn must
 * record at least one event) and reaches the group's broker exactly once, in the order the actor
 * made its calls to that group.
 */
export interface TurnTopics<M = unknown> {
  /**
   * Subscribes this actor to `topic`: from the subscription's place in the group's order on, each
   * publication of the topic is delivered to it as a `tell` of its own message `as`
   * (`{[as]: msg}`), or of the publication itself when `as` is left out. Subscribing again changes
   * `as`. A subscription past the group's bounds is refused by the broker, which logs it.
   */
  subscribe<T>(topic: TopicDefinition<T>, ...as: DeliveryAs<M, T>): void;
  /** Ends this actor's subscription to `topic` (publications before it in the group's order are still delivered). */
  unsubscribe(topic: TopicDefinition): void;
  /** Publishes `msg` on `topic` (checked by the topic's validate and the group's size limits: BAD_REQUEST in the turn). */
  publish<T>(topic: TopicDefinition<T>, msg: T): void;
}

/** One subscription of a topic: the subscriber and the name of its message that receives the topic. */
export interface Subscriber {
  /** The subscriber's actor type. */
  readonly type: string;
  /** The subscriber's id. */
  readonly id: string;
  /** Its message that receives the topic; absent when it receives the publications as they are. */
  readonly as?: string;
}

/** Topics from outside a turn: `node.topics`, `client.topics`, `runtime.topics`. */
export interface Topics {
  /**
   * Publishes `msg` on `topic`. Resolves once the publication is stored in its group's journal:
   * from then on it is delivered, in the group's order, to every actor subscribed before it, and
   * survives any crash or move. Rejects with BAD_REQUEST (the topic's validate, or a message past
   * the group's limits; nothing is published), OVERLOADED (the group has too many deliveries
   * waiting), TIMEOUT (it may still have been published), UNAVAILABLE.
   */
  publish<T>(topic: TopicDefinition<T>, msg: T, opts?: CallOptions): Promise<void>;
  /** The subscribers of `topic` now, in the order they subscribed. */
  subscribers(topic: TopicDefinition, opts?: CallOptions): Promise<Subscriber[]>;
}
