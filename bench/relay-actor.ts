import { defineInMemoryActor } from "../src/actor/define.js";
import { echo } from "./echo-actor.js";

/**
 * The `actors` bench's caller actor: its turn asks the echo actor of the same id
 * (`ctx.ref(echo, ctx.id).ask(msg)`) and answers with that reply, so an ask to it is one
 * actor-to-actor ask inside a turn, with the same `{p}` payload on every hop. Which node runs the
 * echo depends only on the id (its shard under the echo type), so the bench picks ids whose echo
 * is on the relay's node or on another one. Loaded by `shoal node --actors dist/bench/relay-actor.js`
 * beside the echo actor's module.
 */
export const relay = defineInMemoryActor<{ n: number }, { p: string }, { p: string }>({
  type: "benchrelay",
  initialState: () => ({ n: 0 }),
  validate: echo.validate,
  async handle(state, msg, ctx) {
    const reply = await ctx.ref(echo, ctx.id).ask(msg);
    state.n++;
    return { state, reply };
  },
  serialize: (s) => s,
  deserialize: (d) => d as { n: number },
});
