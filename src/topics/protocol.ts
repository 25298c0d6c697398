import { checkActorId, checkActorTypeName } from "../actor/names.js";
import { MsgpackCodec, msgpack } from "../codec/msgpack.js";
import { BadRequestError, ShoalError } from "../errors.js";

/**
 * The messages of a topic group's broker, as they travel (the ingress contract speaks them too),
 * and the bounds on what a group holds. Pure: parsing and checks, no state.
 */

/** The built-in actor type of topic brokers: one actor per group, its id the group's name. Reserved. */
export const TOPIC_BROKER = "shoal-topics";

/** The bounds of one topic group. Past them a subscription is REJECTED and a publication a BAD_REQUEST. */
export const TOPIC_LIMITS = Object.freeze({
  /** Longest topic name, in UTF-8 bytes. */
  maxTopicBytes: 256,
  /** Largest publication, MessagePack-encoded. */
  maxMessageBytes: 64 * 1024,
  /** Deepest nesting of a publication. */
  maxMessageDepth: 16,
  /** Longest name of the subscriber's message that receives a topic (`as`). */
  maxNameLength: 128,
  /** Most subscribers of one topic. */
  maxSubscribersPerTopic: 1000,
  /** Most topics of one group with a subscriber. */
  maxTopicsPerGroup: 1000,
  /** Most subscriptions (topic, subscriber) in one group. */
  maxSubscriptionsPerGroup: 5000,
  /**
   * A subscriber whose deliveries have failed this many times in a row (about a minute, with the
   * outbox's backoff of 50 ms doubling to 5 s) is unsubscribed at the group's next publication.
   */
  faultAttempts: 20,
});

/** A publication: its topic and message. */
export interface Publish {
  readonly topic: string;
  readonly msg: unknown;
}

/** A subscription: a topic and the actor that receives it, under its message `as` (or the publication as it is). */
export interface Subscribe {
  readonly topic: string;
  readonly type: string;
  readonly id: string;
  readonly as?: string;
}

/** The end of a subscription. */
export interface Unsubscribe {
  readonly topic: string;
  readonly type: string;
  readonly id: string;
}

/** Decodes publications under the group's limits (an encoded copy is what is stored and delivered). */
const publications = new MsgpackCodec({ maxBytes: TOPIC_LIMITS.maxMessageBytes, maxDepth: TOPIC_LIMITS.maxMessageDepth });

/** Checks a topic name: a non-empty, well-formed string of at most {@link TOPIC_LIMITS}.maxTopicBytes UTF-8 bytes. */
export function checkTopicName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0) throw new BadRequestError("a topic name must be a non-empty string", { details: { field: "topic" } });
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length > TOPIC_LIMITS.maxTopicBytes) {
    throw new BadRequestError(`a topic name is at most ${TOPIC_LIMITS.maxTopicBytes} UTF-8 bytes`, {
      details: { field: "topic", max: TOPIC_LIMITS.maxTopicBytes },
    });
  }
  if (bytes.toString("utf8") !== name) throw new BadRequestError("a topic name must be well-formed Unicode", { details: { field: "topic" } });
  return name;
}

/** Checks a group name: any valid actor id (it is the broker's). */
export function checkGroupName(group: unknown): string {
  try {
    return checkActorId(group);
  } catch (err) {
    throw new BadRequestError(`invalid topic group: ${(err as Error).message.replace(/^actor id/, "a group name")}`, { details: { field: "group" } });
  }
}

/**
 * A publication's message as it will be stored and delivered: its MessagePack round trip under
 * the group's limits (size, depth, strings), frozen (binary values aside: they cannot be), since
 * every subscriber on a node receives this one object. BAD_REQUEST when it does not fit or cannot
 * be encoded.
 */
export function checkPublication(msg: unknown): unknown {
  if (msg === undefined) throw new BadRequestError("a publication needs a message", { details: { field: "msg" } });
  let bytes: Uint8Array;
  try {
    bytes = msgpack.encode(msg);
  } catch (err) {
    throw new BadRequestError(`a publication cannot be encoded: ${(err as Error).message}`, { details: { field: "msg" } });
  }
  try {
    return deepFreeze(publications.decode(bytes));
  } catch (err) {
    throw new BadRequestError(`publication refused: ${ShoalError.is(err) ? err.message : String(err)}`, {
      details: { field: "msg", maxBytes: TOPIC_LIMITS.maxMessageBytes, maxDepth: TOPIC_LIMITS.maxMessageDepth },
    });
  }
}

/** Freezes a decoded value and everything in it (typed arrays cannot be frozen, and are left as they are). */
function deepFreeze(v: unknown): unknown {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return v;
  for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

/** Checks the name of the subscriber's message that receives a topic. */
export function checkDeliveryName(as: unknown): string | undefined {
  if (as === undefined || as === null) return undefined;
  if (typeof as !== "string" || as.length === 0 || as.length > TOPIC_LIMITS.maxNameLength) {
    throw new BadRequestError(`as must name one of the subscriber's messages (1 to ${TOPIC_LIMITS.maxNameLength} characters)`, { details: { field: "as" } });
  }
  return as;
}

/** What a subscriber receives for a publication: `{[as]: msg}`, or the message itself without `as`. */
export function deliveryOf(msg: unknown, as: string | undefined): unknown {
  return as === undefined ? msg : Object.freeze({ [as]: msg });
}

function fields(input: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new BadRequestError(`${what} must be an object`);
  for (const k of Object.keys(input)) {
    if (!allowed.includes(k)) throw new BadRequestError(`${what} has an unknown field ${JSON.stringify(k.slice(0, 50))}; expected ${allowed.join(", ")}`);
  }
  return input as Record<string, unknown>;
}

function subscriber(f: Record<string, unknown>): { type: string; id: string } {
  return { type: checkActorTypeName(f.type), id: checkActorId(f.id) };
}

/** `{topic, msg}`: the broker's `publish`. */
export function parsePublish(input: unknown): Publish {
  const f = fields(input, "publish", ["topic", "msg"]);
  return { topic: checkTopicName(f.topic), msg: checkPublication(f.msg) };
}

/** `{topic, type, id, as?}`: the broker's `subscribe`. */
export function parseSubscribe(input: unknown): Subscribe {
  const f = fields(input, "subscribe", ["topic", "type", "id", "as"]);
  const topic = checkTopicName(f.topic);
  const as = checkDeliveryName(f.as);
  return as === undefined ? { topic, ...subscriber(f) } : { topic, ...subscriber(f), as };
}

/** `{topic, type, id}`: the broker's `unsubscribe`. */
export function parseUnsubscribe(input: unknown): Unsubscribe {
  const f = fields(input, "unsubscribe", ["topic", "type", "id"]);
  return { topic: checkTopicName(f.topic), ...subscriber(f) };
}

/** `{topic}`: the broker's `subscribers` (a query). */
export function parseTopicQuery(input: unknown): { topic: string } {
  const f = fields(input, "subscribers", ["topic"]);
  return { topic: checkTopicName(f.topic) };
}
