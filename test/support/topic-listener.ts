/**
 * A subscriber for the topic tests: it joins and leaves topics by message, records every
 * publication it receives as an event (so its per-sender marks are durable: each delivery is
 * applied once), and can publish from a turn.
 */
import { defineActor } from "../../src/actor/define.js";
import { BadRequestError } from "../../src/errors.js";
import { defineTopic } from "../../src/topics/define.js";
import type { TopicDefinition } from "../../src/topics/types.js";

/** What the tests publish: a sequence number and who published it. */
export interface Tick {
  n: number;
  by: string;
}

export const checkTick = (x: unknown): Tick => {
  const t = x as Tick;
  if (typeof t !== "object" || t === null || !Number.isInteger(t.n) || typeof t.by !== "string") throw new BadRequestError("a tick is {n, by}");
  return { n: t.n, by: t.by };
};

/** A topic of ticks in `group`. */
export const tickTopic = (name: string, group?: string): TopicDefinition<Tick> => defineTopic({ name, group, validate: checkTick });

const where = (x: unknown): { name: string; group?: string } => {
  const w = x as { name?: unknown; group?: unknown };
  if (typeof w?.name !== "string") throw new BadRequestError("{name, group?}");
  return typeof w.group === "string" ? { name: w.name, group: w.group } : { name: w.name };
};

type Event = { got: Tick & { topic?: string } } | { joined: string } | { left: string } | { said: number };

export const listener = defineActor({
  type: "listener",
  initialState: () => ({ got: [] as Tick[] }),
  evolve: (s, e: Event) => ("got" in e ? { got: [...s.got, e.got] } : s),
  messages: {
    join: {
      validate: where,
      handle: (_s, w, ctx) => {
        ctx.topics.subscribe(tickTopic(w.name, w.group), "got");
        return { events: [{ joined: w.name }], reply: null };
      },
    },
    leave: {
      validate: where,
      handle: (_s, w, ctx) => {
        ctx.topics.unsubscribe(tickTopic(w.name, w.group));
        return { events: [{ left: w.name }], reply: null };
      },
    },
    say: {
      validate: (x: unknown) => ({ ...where(x), n: (x as { n: number }).n }),
      handle: (_s, w, ctx) => {
        ctx.topics.publish(tickTopic(w.name, w.group), { n: w.n, by: ctx.id });
        return { events: [{ said: w.n }], reply: null };
      },
    },
    got: { validate: checkTick, handle: (_s, t) => ({ events: [{ got: t }], reply: null }) },
    seen: { validate: () => ({}), handle: (s) => ({ reply: s.got }) },
  },
});
