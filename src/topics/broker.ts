import type { ActorType } from "../actor/calls.js";
import { builtIn, defineActor } from "../actor/define.js";
import type { TurnContext } from "../actor/spec.js";
import { InternalError, RejectedError } from "../errors.js";
import { actorKeyString } from "../runtime/outgoing.js";
import type { TurnCtx } from "../runtime/turn-context.js";
import {
  deliveryOf,
  parsePublish,
  parseSubscribe,
  parseTopicQuery,
  parseUnsubscribe,
  type Publish,
  type Subscribe,
  TOPIC_BROKER,
  TOPIC_LIMITS,
  type Unsubscribe,
} from "./protocol.js";
import type { Subscriber } from "./types.js";

/**
 * A topic group's broker: the built-in event-sourced actor `shoal-topics`, one per group (its id
 * is the group's name), placed, moved and fenced like any actor. Its journal is the group's order:
 * subscriptions and publications are its events, and each publication turn sends the message to
 * the topic's subscribers through the outbox (stored with the event, sent after the append, sent
 * again by whoever loads the broker next, applied once by each receiver, in order per receiver).
 */

/** The broker's events: readable, since projections may read a group's journal. */
export type BrokerEvent =
  | { readonly subscribed: Subscribe }
  | { readonly unsubscribed: Unsubscribe & { readonly fault?: { readonly code: string; readonly attempts: number } } }
  | { readonly published: Publish };

/** A group's subscriptions: topic → subscriber key → subscriber (in the order they subscribed). */
export interface BrokerState {
  readonly topics: Map<string, Map<string, Subscriber>>;
  subscriptions: number;
}

const empty = (): BrokerState => ({ topics: new Map(), subscriptions: 0 });

function evolve(state: BrokerState, e: BrokerEvent): BrokerState {
  if ("published" in e) return state;
  if ("subscribed" in e) {
    const { topic, type, id, as } = e.subscribed;
    let subs = state.topics.get(topic);
    if (subs === undefined) {
      subs = new Map();
      state.topics.set(topic, subs);
    }
    const k = actorKeyString(type, id);
    if (!subs.has(k)) state.subscriptions++;
    subs.set(k, as === undefined ? { type, id } : { type, id, as });
    return state;
  }
  const { topic, type, id } = e.unsubscribed;
  const subs = state.topics.get(topic);
  if (subs?.delete(actorKeyString(type, id)) === true) {
    state.subscriptions--;
    if (subs.size === 0) state.topics.delete(topic);
  }
  return state;
}

/**
 * Subscribers whose deliveries have failed {@link TOPIC_LIMITS}.faultAttempts times in a row are
 * dropped: an `unsubscribed` event (with the fault) for each of their topics, and their undelivered
 * messages abandoned, so that a subscriber that is gone or keeps failing holds up neither the
 * group's outbox nor its publishers. Returns their keys.
 */
function dropFaulty(state: BrokerState, ctx: TurnCtx, events: BrokerEvent[]): Set<string> {
  const dropped = new Set<string>();
  for (const f of ctx.outbox?.failing() ?? []) {
    if (f.attempts < TOPIC_LIMITS.faultAttempts) continue;
    const k = actorKeyString(f.type, f.id);
    for (const [topic, subs] of state.topics) {
      if (subs.has(k)) events.push({ unsubscribed: { topic, type: f.type, id: f.id, fault: { code: f.code, attempts: f.attempts } } });
    }
    ctx.abandon(f.type, f.id);
    dropped.add(k);
  }
  return dropped;
}

/** The broker's actor type (hosted by every runtime, hidden from its list of types). @internal */
export const topicBroker = builtIn(() =>
  defineActor({
    type: TOPIC_BROKER,
    initialState: empty,
    evolve,
    snapshot: {
      toData: (s: BrokerState) =>
        [...s.topics].map(([topic, subs]) => [topic, [...subs.values()].map((x) => (x.as === undefined ? [x.type, x.id] : [x.type, x.id, x.as]))]),
      fromData(data: unknown): BrokerState {
        if (!Array.isArray(data)) throw new InternalError("malformed topic broker snapshot");
        const s = empty();
        for (const [topic, subs] of data as [string, string[][]][]) {
          for (const [type, id, as] of subs)
            evolve(s, { subscribed: as === undefined ? { topic, type: type!, id: id! } : { topic, type: type!, id: id!, as } });
        }
        return s;
      },
    },
    messages: {
      publish: {
        validate: parsePublish,
        handle(state: Readonly<BrokerState>, p: Publish, ctx: TurnContext) {
          const events: BrokerEvent[] = [];
          const turn = ctx as TurnCtx;
          const dropped = dropFaulty(state, turn, events);
          // One delivered object per `as`: the outbox stores a message shared by many receivers once.
          const delivered = new Map<string | undefined, unknown>();
          for (const [k, s] of state.topics.get(p.topic) ?? []) {
            if (dropped.has(k)) continue;
            let m = delivered.get(s.as);
            if (m === undefined) {
              m = deliveryOf(p.msg, s.as);
              delivered.set(s.as, m);
            }
            turn.ref<ActorType>({ type: s.type }, s.id).tell(m);
          }
          events.push({ published: p });
          return { events, reply: null };
        },
      },
      subscribe: {
        validate: parseSubscribe,
        handle(state: Readonly<BrokerState>, p: Subscribe) {
          const subs = state.topics.get(p.topic);
          const had = subs?.get(actorKeyString(p.type, p.id));
          if (had !== undefined && had.as === p.as) return { reply: null };
          if (had === undefined) checkRoom(state, p, subs?.size);
          return { events: [{ subscribed: p }], reply: null };
        },
      },
      unsubscribe: {
        validate: parseUnsubscribe,
        handle(state: Readonly<BrokerState>, p: Unsubscribe) {
          if (state.topics.get(p.topic)?.has(actorKeyString(p.type, p.id)) !== true) return { reply: null };
          return { events: [{ unsubscribed: p }], reply: null };
        },
      },
      subscribers: {
        validate: parseTopicQuery,
        handle: (state: Readonly<BrokerState>, p: { topic: string }) => ({ reply: [...(state.topics.get(p.topic)?.values() ?? [])] }),
      },
    },
  }),
);

/** REJECTED when one more subscription would pass the group's bounds. */
function checkRoom(state: Readonly<BrokerState>, p: Subscribe, subscribers: number | undefined): void {
  const L = TOPIC_LIMITS;
  const full =
    subscribers === undefined && state.topics.size >= L.maxTopicsPerGroup
      ? `${L.maxTopicsPerGroup} topics`
      : (subscribers ?? 0) >= L.maxSubscribersPerTopic
        ? `${L.maxSubscribersPerTopic} subscribers of topic ${p.topic.slice(0, 100)}`
        : state.subscriptions >= L.maxSubscriptionsPerGroup
          ? `${L.maxSubscriptionsPerGroup} subscriptions`
          : undefined;
  if (full !== undefined) {
    throw new RejectedError(`topic group is full (at most ${full}): ${p.type}/${p.id.slice(0, 100)} not subscribed`, {
      details: { topic: p.topic.slice(0, 100), limits: { ...L } },
    });
  }
}
