import { BadRequestError, defineActor } from "shoal";

/** What a counter remembers: the fold of its events. */
export interface CounterState {
  value: number;
}

/** What a counter's turns record. The event store keeps them; the state is rebuilt from them. */
export type CounterEvent = { incremented: number } | { reset: { from: number } };

/** Checks untrusted input; what it returns is the payload `handle` gets. */
function positiveInteger(input: unknown): number {
  if (typeof input !== "number" || !Number.isSafeInteger(input) || input <= 0) throw new BadRequestError("increment takes a positive integer");
  return input;
}

/**
 * An event-sourced counter. Each message has its own payload check and its own reply type:
 * `ask({ increment: 2 })` answers a number, `ask({ get: {} })` an object. (Write a `validate`
 * as a function value, or an arrow whose input is annotated: TypeScript takes the payload's
 * type from it.)
 */
export const counter = defineActor({
  type: "counter",
  initialState: (): CounterState => ({ value: 0 }),
  messages: {
    increment: {
      validate: positiveInteger,
      handle: (state, by) => ({ events: [{ incremented: by }], reply: state.value + by }),
    },
    reset: {
      validate: () => ({}),
      handle: (state) => ({ events: [{ reset: { from: state.value } }], reply: 0 }),
    },
    get: {
      validate: () => ({}),
      handle: (state, _payload, ctx) => ({ reply: { value: state.value, version: ctx.version, node: ctx.node } }),
    },
  },
  evolve: (state, event: CounterEvent) => ("incremented" in event ? { value: state.value + event.incremented } : { value: 0 }),
});
