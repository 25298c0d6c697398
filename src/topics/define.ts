import type { Validate } from "../actor/spec.js";
import { BadRequestError, ShoalError } from "../errors.js";
import { checkGroupName, checkPublication, checkTopicName } from "./protocol.js";
import type { TopicDefinition } from "./types.js";

/** What {@link defineTopic} takes. */
export interface TopicSpec<T> {
  /** The topic's name: any string of 1–256 UTF-8 bytes. */
  readonly name: string;
  /**
   * The group the topic belongs to (default: the topic's name). A group has one broker, placed
   * and moved like an actor, which orders every publication of the group's topics: subscribers
   * see one order per group, never across groups.
   */
  readonly group?: string;
  /** Checks a message before it is published (`fromSchema(...)` works here too). */
  readonly validate: Validate<T>;
}

/**
 * Defines a topic: actors subscribe to it from a turn (`ctx.topics.subscribe(topic, "onPrice")`)
 * and anyone publishes on it (`ctx.topics.publish`, `node.topics.publish`,
 * `client.topics.publish`). Cheap: a frozen object, so a topic per key can be made on the fly.
 *
 * ```ts
 * export const prices = defineTopic({ name: "prices", group: "market", validate: checkPrice });
 * // in a handler of an actor with a message `price: { validate: checkPrice, handle: … }`:
 * ctx.topics.subscribe(prices, "price");
 * // anywhere:
 * await node.topics.publish(prices, { symbol: "ACME", cents: 1234 });
 * ```
 *
 * A TypeError for a name or group that is not valid, or a validate that is not a function.
 */
export function defineTopic<T>(spec: TopicSpec<T>): TopicDefinition<T> {
  if (typeof spec !== "object" || spec === null) throw new TypeError("defineTopic takes { name, group?, validate }");
  let name: string;
  let group: string;
  try {
    name = checkTopicName(spec.name);
    group = checkGroupName(spec.group ?? spec.name);
  } catch (err) {
    throw new TypeError((err as Error).message);
  }
  if (typeof spec.validate !== "function") throw new TypeError(`topic ${name} needs a validate function`);
  return Object.freeze({ name, group, validate: spec.validate });
}

/** Checks that `topic` is a topic's definition (a TypeError otherwise), for the functions that take one. */
export function topicOf(topic: TopicDefinition): TopicDefinition {
  if (typeof topic !== "object" || topic === null || typeof topic.validate !== "function" || typeof topic.name !== "string") {
    throw new TypeError("expected a topic made by defineTopic");
  }
  return topic;
}

/** `msg` checked by the topic's validate and the group's limits: what is published. BAD_REQUEST when refused. */
export function publication(topic: TopicDefinition, msg: unknown): unknown {
  let valid: unknown;
  try {
    valid = topic.validate(msg);
  } catch (err) {
    if (ShoalError.is(err)) throw err;
    throw new BadRequestError(`invalid message for topic ${topic.name}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  return checkPublication(valid);
}
