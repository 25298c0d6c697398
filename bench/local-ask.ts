import { defineInMemoryActor } from "../src/actor/define.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { emit, throughput } from "./report.js";

const noop = defineInMemoryActor<null, unknown, null>({
  type: "noop",
  initialState: () => null,
  validate: (m) => m,
  handle: (state) => ({ state, reply: null }),
  serialize: () => null,
  deserialize: () => null,
});

/** Local ask on a no-op actor: the runtime's own cost, no NATS (goal ≥ 200k asks/s). */
export async function localAsk(): Promise<void> {
  const rt = new Runtime({ nodeId: "bench", store: new MemoryEventStore(), actors: [noop] });
  const msg = { ping: 1 };
  await throughput(50_000, 256, () => rt.ask("noop", "warm", msg)); // warm-up (JIT)
  const one = await throughput(300_000, 256, () => rt.ask("noop", "a", msg));
  emit({ name: "local_ask_one_actor", value: one, unit: "asks/s", window: 256, goal: 200_000 });
  const ids = Array.from({ length: 1000 }, (_, i) => `actor-${i}`);
  const many = await throughput(300_000, 256, (i) => rt.ask("noop", ids[i % ids.length]!, msg));
  emit({ name: "local_ask_1000_actors", value: many, unit: "asks/s", window: 256, goal: 200_000 });
  await rt.stop();
}
