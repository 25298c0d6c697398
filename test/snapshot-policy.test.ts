/** Snapshot strategies besides every N events: on passivation, on a handoff's capture, and after a long replay (adaptive). */
import { describe, expect, it } from "vitest";
import { defineActor } from "../src/actor/define.js";
import type { SnapshotPolicy } from "../src/actor/spec.js";
import { ManualClock } from "../src/clock.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryBackend, MemoryEventStore } from "../src/store/memory.js";
import type { ActorKey, Snapshot } from "../src/store/types.js";
import { turns } from "./support/turns.js";

/** A store that records the versions of the snapshots saved. */
class Recording extends MemoryEventStore {
  readonly saved: number[] = [];
  override async saveSnapshot(key: ActorKey, s: Snapshot): Promise<void> {
    this.saved.push(s.version);
    return super.saveSnapshot(key, s);
  }
}

const counter = (snapshotPolicy?: SnapshotPolicy, snapshotEvery = 100, passivateAfter = 1000) =>
  defineActor({
    type: "counter",
    initialState: () => ({ n: 0 }),
    evolve: (s, _e: 1) => ({ n: s.n + 1 }),
    messages: {
      add: { validate: () => ({}), handle: () => ({ events: [1 as const], reply: null }) },
      get: { validate: () => ({}), handle: (s) => ({ reply: s.n }) },
    },
    snapshotEvery,
    passivateAfter,
    ...(snapshotPolicy === undefined ? {} : { snapshotPolicy }),
  });

function runtime(def: ReturnType<typeof counter>, backend = new MemoryBackend()) {
  const store = new Recording({ backend });
  const clock = new ManualClock();
  const rt = new Runtime({ nodeId: "n", store, actors: [def], clock, passivationInterval: 500 });
  return { rt, store, clock, backend };
}

describe("snapshot policy", () => {
  it("on passivation: a snapshot at the version it is dropped with, once; none without the policy", async () => {
    for (const [policy, expected] of [
      [{ onPassivate: true }, [7]],
      [undefined, []],
    ] as const) {
      const { rt, store, clock } = runtime(counter(policy));
      const ref = rt.ref(counter(policy), "c");
      for (let i = 0; i < 7; i++) await ref.ask({ add: {} });
      clock.advance(2000);
      await turns(10);
      expect(rt.isActive("counter", "c")).toBe(false);
      expect(store.saved).toEqual(expected);
      await ref.ask({ get: {} }); // loaded again, from the snapshot, and dropped again with nothing new
      clock.advance(2000);
      await turns(10);
      expect(store.saved).toEqual(expected);
      await rt.stop();
    }
  });

  it("adaptive: a load that replays a quarter of snapshotEvery or more saves one at once", async () => {
    const backend = new MemoryBackend();
    const first = runtime(counter(undefined, 40), backend);
    for (let i = 0; i < 30; i++) await first.rt.ref(counter(undefined, 40), "c").ask({ add: {} });
    await first.rt.stop();
    expect(first.store.saved).toEqual([]); // 30 < 40: none by count
    const second = runtime(counter({ adaptive: true }, 40), backend);
    expect(await second.rt.ref(counter({ adaptive: true }, 40), "c").ask({ get: {} })).toBe(30);
    await turns(5);
    expect(second.store.saved).toEqual([30]);
    expect((await new MemoryEventStore({ backend }).load({ type: "counter", id: "c" })).events).toEqual([]);
    await second.rt.stop();
  });

  it("adaptive: a hot actor (snapshotEvery events within a minute) snapshots every snapshotEvery / 2", async () => {
    const hot = counter({ adaptive: true }, 10);
    const { rt, store } = runtime(hot);
    for (let i = 0; i < 30; i++) await rt.ref(hot, "h").ask({ add: {} });
    expect(store.saved).toEqual([10, 15, 20, 25, 30]); // at 10 by count; hot from the 10th event on
    const cold = counter(undefined, 10);
    const other = runtime(cold);
    for (let i = 0; i < 30; i++) {
      await other.rt.ref(cold, "c").ask({ add: {} });
      other.clock.advance(100);
    }
    expect(other.store.saved).toEqual([10, 20, 30]);
    // Slow appends (fewer than 10 a minute) stay cold, adaptive or not.
    const slowDef = counter({ adaptive: true }, 10, 3_600_000);
    const slow = runtime(slowDef);
    for (let i = 0; i < 30; i++) {
      await slow.rt.ref(slowDef, "s").ask({ add: {} });
      slow.clock.advance(10_000);
      await turns(2);
    }
    expect(slow.store.saved).toEqual([10, 20, 30]);
    await Promise.all([rt.stop(), other.rt.stop(), slow.rt.stop()]);
  });

  it("on handoff: the pause's capture saves one for an actor with events past its last", async () => {
    const { rt, store } = runtime(counter({ onHandoff: true }));
    await rt.ref(counter({ onHandoff: true }), "c").ask({ add: {} });
    const group = await rt.pause(() => true);
    group.capture();
    group.capture(); // nothing new since: no second one
    expect(store.saved).toEqual([1]);
    group.resume();
    await rt.stop();
  });

  it("refuses a policy with another key or a non-boolean", () => {
    expect(() => counter({ onPassivate: "yes" } as never)).toThrow(/snapshotPolicy/);
    expect(() => counter({ always: true } as never)).toThrow(/snapshotPolicy/);
  });
});
