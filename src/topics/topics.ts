import type { Caller, CallOptions } from "../ref.js";
import { publication, topicOf } from "./define.js";
import { TOPIC_BROKER } from "./protocol.js";
import type { Subscriber, TopicDefinition, Topics } from "./types.js";

/** {@link Topics} over a caller (a runtime, a node's router, a client): each call goes to the topic's broker. @internal */
export function topicsOver(caller: Caller): Topics {
  return {
    async publish(topic: TopicDefinition, msg: unknown, opts?: CallOptions): Promise<void> {
      const t = topicOf(topic);
      await caller.send(TOPIC_BROKER, t.group, { publish: { topic: t.name, msg: publication(t, msg) } }, opts);
    },
    async subscribers(topic: TopicDefinition, opts?: CallOptions): Promise<Subscriber[]> {
      const t = topicOf(topic);
      return (await caller.ask(TOPIC_BROKER, t.group, { subscribers: { topic: t.name } }, opts)) as Subscriber[];
    },
  };
}
