import { defineInMemoryActor } from "../src/actor/define.js";

/** Most work one message may ask for (≈ 10 ms of CPU here): a bound for a bench actor on a shared subject. */
const MAX_SPIN = 1_000_000;

/**
 * The `skew` bench's actor: an in-memory actor whose turn does a fixed amount of CPU work,
 * `{spin: n}` rounds of integer mixing (no allocation, so no GC to blur it), and answers its turn
 * count. The work is counted in rounds, not timed, so a turn costs the same CPU whether or not
 * its node is pre-empted while it runs. `spin: 0` is a no-op turn. Loaded by `shoal node
 * --actors dist/bench/busy-actor.js`.
 */
export const busy = defineInMemoryActor<{ turns: number; x: number }, { spin: number }, { turns: number }>({
  type: "benchbusy",
  initialState: () => ({ turns: 0, x: 1 }),
  validate(m) {
    const spin = (m as { spin?: unknown })?.spin;
    if (typeof spin !== "number" || !Number.isInteger(spin) || spin < 0 || spin > MAX_SPIN) throw new Error(`expected {"spin": integer 0..${MAX_SPIN}}`);
    return { spin };
  },
  handle(state, msg) {
    state.x = mix(msg.spin, state.x);
    state.turns++;
    return { state, reply: { turns: state.turns } };
  },
  serialize: (s) => s,
  deserialize: (d) => d as { turns: number; x: number },
});

/** `rounds` rounds of a 32-bit mixing function from `seed`: CPU work that depends on every round. */
export function mix(rounds: number, seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < rounds; i++) {
    x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
    x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
    x = (x ^ (x >>> 16)) + i;
  }
  return x | 0;
}
