import { BadRequestError, defineActor } from "shoal";

/** What a counter remembers: the fold of its events. */
export interface CounterState {
  value: number;
}

/** What a counter's turns record. The event store keeps them; the state is rebuilt from them. */
export type CounterEvent = { incremented: number } | { reset: true };

/**
 * An event-sourced counter. Each message has its own payload check and its own reply type:
 * `ask({ increment: 2 })` answers a number, `ask({ get: {} })` an object.
 */
export const counter = defineActor({
  type: "counter",
  initialState: (): CounterState => ({ value: 0 }),
  messages: {
    increment: {
      validate(by: unknown): number {
        if (typeof by !== "number" || !Number.isSafeInteger(by) || by <= 0) throw new BadRequestError("increment takes a positive integer");
        return by;
      },
      handle: (state, by) => ({ events: [{ incremented: by }], reply: state.value + by }),
    },
    reset: {
      validate: () => ({}),
      handle: () => ({ events: [{ reset: true }], reply: 0 }),
    },
    get: {
      validate: () => ({}),
      handle: (state, _payload, ctx) => ({ reply: { value: state.value, version: ctx.version, node: ctx.node } }),
    },
  },
  evolve: (state, event: CounterEvent) => ("incremented" in event ? { value: state.value + event.incremented } : { value: 0 }),
});
