import type { ActorDefinition } from "../src/actor/spec.js";
import type { Clock } from "../src/clock.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";

/** Options of {@link testRuntime}. */
export interface TestRuntimeOptions {
  /** The actor types to host. */
  actors: readonly ActorDefinition[];
  /** The clock turns see (`ctx.now`) and timeouts run on; pass a `ManualClock` to drive time by hand. */
  clock?: Clock;
  /** The node id turns see (`ctx.node`). Default "test". */
  nodeId?: string;
  /** The event store (default: a fresh in-memory one, so each test starts empty). */
  store?: MemoryEventStore;
}

/**
 * Your actors in this process, with no NATS and no cluster: a {@link Runtime} on an in-memory
 * event store, for fast tests of actor logic. References behave as they do on a cluster (the
 * same validation, one turn at a time, the same typed errors).
 *
 * ```ts
 * await using rt = testRuntime({ actors: [counter] });
 * expect(await rt.ref(counter, "c").ask({ add: 2 })).toBe(2);
 * ```
 */
export function testRuntime(opts: TestRuntimeOptions): Runtime {
  return new Runtime({ nodeId: opts.nodeId ?? "test", store: opts.store ?? new MemoryEventStore(), actors: opts.actors, clock: opts.clock });
}
