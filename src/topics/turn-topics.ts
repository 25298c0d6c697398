import type { ActorType } from "../actor/calls.js";
import { publication, topicOf } from "./define.js";
import { checkDeliveryName, TOPIC_BROKER } from "./protocol.js";
import type { TopicDefinition, TurnTopics } from "./types.js";

/** What `ctx.topics` needs of its turn: who the actor is, and references whose sends leave with the turn. */
export interface TopicsTurn {
  readonly type: string;
  readonly id: string;
  ref(type: ActorType, id: string): { send(msg: unknown): void };
}

/** The broker, by name: its messages are checked here, before they are queued (a refusal at the broker would be retried for ever). */
const broker: ActorType = Object.freeze({ type: TOPIC_BROKER });

/** `ctx.topics`: each call is a `send` to the topic's broker, queued in the turn (see {@link TurnTopics}). */
export class TurnTopicsOf implements TurnTopics {
  constructor(private readonly turn: TopicsTurn) {}

  subscribe(topic: TopicDefinition, as?: string): void {
    const t = topicOf(topic);
    const name = checkDeliveryName(as);
    const sub = { topic: t.name, type: this.turn.type, id: this.turn.id };
    this.turn.ref(broker, t.group).send({ subscribe: name === undefined ? sub : { ...sub, as: name } });
  }

  unsubscribe(topic: TopicDefinition): void {
    const t = topicOf(topic);
    this.turn.ref(broker, t.group).send({ unsubscribe: { topic: t.name, type: this.turn.type, id: this.turn.id } });
  }

  publish(topic: TopicDefinition, msg: unknown): void {
    const t = topicOf(topic);
    this.turn.ref(broker, t.group).send({ publish: { topic: t.name, msg: publication(t, msg) } });
  }
}
