import { defineInMemoryActor } from "../src/actor/define.js";
import { msgpack } from "../src/codec/msgpack.js";

/**
 * The benchmarks' no-op actor: `{p: string}` answered with the same `{p}`, so a request and its
 * reply are as big as the raw baseline's (which echoes its request). Loaded by `shoal node
 * --actors dist/bench/echo-actor.js` in the bench's target process.
 */
export const echo = defineInMemoryActor<{ n: number }, { p: string }, { p: string }>({
  type: "benchecho",
  initialState: () => ({ n: 0 }),
  validate(m) {
    const p = (m as { p?: unknown })?.p;
    if (typeof p !== "string") throw new Error('expected {"p": string}');
    return { p };
  },
  handle(state, msg) {
    state.n++;
    return { state, reply: msg };
  },
  serialize: (s) => s,
  deserialize: (d) => d as { n: number },
});

/** An echo message whose MessagePack encoding is `bytes` long. */
export function echoMessage(bytes: number): { p: string } {
  let p = "x".repeat(bytes);
  while (msgpack.encode({ p }).length > bytes) p = p.slice(1);
  return { p };
}
