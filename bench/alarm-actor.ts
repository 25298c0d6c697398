import { defineActor } from "../src/actor/define.js";

/**
 * The reminder bench's actor, loaded by `shoal node --actors dist/bench/alarm-actor.js`: `arm`
 * sets one one-shot reminder `in` ms from its turn; its firing appends one event saying when it
 * was due and when it ran, which the bench reads off the journal's subjects as it is written.
 */
export const benchAlarm = defineActor({
  type: "benchalarm",
  initialState: () => ({ fired: 0 }),
  evolve: (s, _e: { due: number; at: number }) => ({ fired: s.fired + 1 }),
  messages: {
    arm: {
      validate: (p: unknown) => {
        const ms = (p as { in?: unknown })?.in;
        if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms < 0) throw new Error("in must be a whole number of ms");
        return { in: ms };
      },
      handle: (_s, p, ctx) => {
        const due = ctx.now + p.in;
        ctx.reminders.set("r", { at: due }, { ring: { due } });
        return { reply: null };
      },
    },
    ring: {
      validate: (p: unknown) => {
        const due = (p as { due?: unknown })?.due;
        if (typeof due !== "number") throw new Error("due must be a number");
        return { due };
      },
      handle: (_s, p, ctx) => ({ events: [{ due: p.due, at: ctx.now }], reply: null }),
    },
  },
});
