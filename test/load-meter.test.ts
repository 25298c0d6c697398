import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ManualClock } from "../src/clock.js";
import { roughSize } from "../src/codec/rough-size.js";
import { Runtime } from "../src/runtime/runtime.js";
import { TopN } from "../src/runtime/top-n.js";
import { MemoryEventStore } from "../src/store/memory.js";

/** An in-memory counter whose state is a string of `size` characters after `{grow: size}`. */
const blob = defineInMemoryActor<string, { grow?: number; block?: boolean }, number>({
  type: "blob",
  initialState: () => "",
  validate: (m) => m as { grow?: number },
  handle: (state, msg) => {
    const next = msg.grow === undefined ? state : "x".repeat(msg.grow);
    return { state: next, reply: next.length };
  },
  serialize: (s) => s,
  deserialize: (d) => d as string,
});

/** A type whose turns wait until the test releases them (messages pile up in the mailbox). */
function blocking() {
  const gates: Array<() => void> = [];
  const def = defineInMemoryActor<number, unknown, number>({
    type: "slow",
    initialState: () => 0,
    validate: (m) => m,
    async handle(state) {
      await new Promise<void>((r) => gates.push(r));
      return { state: state + 1, reply: state + 1 };
    },
    serialize: (s) => s,
    deserialize: (d) => d as number,
  });
  return { def, gates };
}

/** Shards by the id's number: "a7" is in shard 7 (any shard number, not only below a count). */
const shardById = (_type: string, id: string) => Number(id.replace(/\D/g, "")) || 0;

function runtime(clock: ManualClock, opts: Partial<ConstructorParameters<typeof Runtime>[0]> = {}) {
  return new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [blob], clock, partitionOf: shardById, passivationInterval: 1e9, ...opts });
}

/** Polls `cond` between turns of the event loop (no timer, no fixed sleep). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 10_000) throw new Error("condition never held");
    await new Promise((r) => setImmediate(r));
  }
}

async function turns(rt: Runtime, id: string, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => rt.ask("blob", id, {})));
}

describe("LoadMeter", () => {
  it("turns counts into turns/s per shard and per actor, and lists only shards with load", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock);
    await turns(rt, "a3", 300);
    await turns(rt, "b3", 100);
    await turns(rt, "c5", 50);
    clock.advance(1000);
    const s = rt.meter.sample();
    // The first sample of a busy shard reads its true rate (no climb from zero).
    expect(s.shards.map((x) => [x.shard, x.turnsPerSec, x.actors, x.mailbox])).toEqual([
      [3, 400, 2, 0],
      [5, 50, 1, 0],
    ]);
    expect(s.hot.map((a) => [a.id, a.shard, a.turnsPerSec])).toEqual([
      ["a3", 3, 300],
      ["b3", 3, 100],
      ["c5", 5, 50],
    ]);
    expect(s.totals).toMatchObject({ turnsPerSec: 450, actors: 3, mailbox: 0 });
    expect(rt.meter.last).toBe(s);
    await rt.stop();
  });

  it("decays a stopped shard's rate by half per half-life, then forgets it", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock, { load: { halfLife: 2000 } });
    // Steady for a long while: the weight is full, so decay is plain halving.
    for (let i = 0; i < 40; i++) {
      await turns(rt, "a1", 100);
      clock.advance(1000);
      rt.meter.sample();
    }
    const steady = rt.meter.last!.shards[0]!.turnsPerSec;
    expect(steady).toBeCloseTo(100, 6);
    clock.advance(2000);
    expect(rt.meter.sample().shards[0]!.turnsPerSec).toBeCloseTo(50, 3);
    clock.advance(2000);
    expect(rt.meter.sample().hot[0]!.turnsPerSec).toBeCloseTo(25, 3);
    // Uneven intervals decay the same: one 4 s step equals two 2 s steps.
    clock.advance(4000);
    expect(rt.meter.sample().shards[0]!.turnsPerSec).toBeCloseTo(6.25, 3);
    // Idle long enough, the actor is no longer hot; its shard stays listed while it has the actor.
    clock.advance(60_000);
    const idle = rt.meter.sample();
    expect(idle.hot).toEqual([]);
    expect(idle.shards).toEqual([{ shard: 1, turnsPerSec: 0, mailbox: 0, actors: 1, stateBytes: expect.any(Number) }]);
    await rt.stop();
  });

  it("weights recent intervals: a burst then silence reads lower at once, rising load reads higher", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock, { load: { halfLife: 1000 } });
    for (let i = 0; i < 20; i++) {
      await turns(rt, "a2", 10);
      clock.advance(1000);
      rt.meter.sample();
    }
    await turns(rt, "a2", 1010);
    clock.advance(1000);
    // Half the weight on the last second (1010/s), half on the past (10/s).
    expect(rt.meter.sample().shards[0]!.turnsPerSec).toBeCloseTo(510, 3);
    await rt.stop();
  });

  it("counts a shard's turns after its actor left, and two samples at one instant agree", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock);
    await turns(rt, "a9", 40);
    await rt.stop(); // every activation dropped
    clock.advance(500);
    const s = rt.meter.sample();
    expect(s.shards).toEqual([{ shard: 9, turnsPerSec: 80, mailbox: 0, actors: 0, stateBytes: 0 }]);
    expect(rt.meter.sample()).toBe(s);
  });

  it("grows past any shard number, and counts mailboxes per shard", async () => {
    const clock = new ManualClock();
    const slow = blocking();
    const rt = runtime(clock, { actors: [blob, slow.def] });
    const waiting = Array.from({ length: 5 }, () => rt.ask("slow", "s70000", {}));
    await turns(rt, "a130000", 3);
    clock.advance(1000);
    const s = rt.meter.sample();
    expect(s.shards.map((x) => [x.shard, x.mailbox, x.actors])).toEqual([
      [70000, 4, 1], // one turn running, four waiting
      [130000, 0, 1],
    ]);
    for (let i = 0; i < 5; i++) {
      await until(() => slow.gates.length > 0);
      slow.gates.shift()!();
    }
    await Promise.all(waiting);
    await rt.stop();
  });

  it("estimates state sizes of actors that ran turns, within its budget, each in turn", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock, { load: { sizeActors: 2 } });
    for (const id of ["a1", "b1", "c1", "d1"]) await rt.ask("blob", id, { grow: 100 });
    const size = roughSize("x".repeat(100));
    clock.advance(1000);
    expect(rt.meter.sample().shards[0]!.stateBytes).toBe(2 * size); // two of four estimated
    clock.advance(1000);
    expect(rt.meter.sample().shards[0]!.stateBytes).toBe(4 * size); // the other two, next
    // One grows: it is estimated again; the others ran no turn and keep theirs.
    await rt.ask("blob", "b1", { grow: 1000 });
    clock.advance(1000);
    expect(rt.meter.sample().shards[0]!.stateBytes).toBe(3 * size + roughSize("x".repeat(1000)));
    await rt.stop();
  });

  it("re-estimates a big state less often: every stateBytes / sizeBytes samples", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock, { load: { sizeBytes: 1000 } });
    await rt.ask("blob", "a4", { grow: 2900 }); // estimated 2905 bytes: every 3rd sample
    clock.advance(1000);
    expect(rt.meter.sample().shards[0]!.stateBytes).toBe(2905);
    const seen: number[] = [];
    for (let i = 1; i <= 6; i++) {
      await rt.ask("blob", "a4", { grow: 2900 + 10 * i }); // a turn before every sample
      clock.advance(1000);
      seen.push(rt.meter.sample().shards[0]!.stateBytes);
    }
    expect(seen).toEqual([2905, 2905, 2935, 2935, 2935, 2965]);
    await rt.stop();
  });

  it("lists at most topActors, the hottest first", async () => {
    const clock = new ManualClock();
    const rt = runtime(clock, { load: { topActors: 3 } });
    for (let i = 1; i <= 8; i++) await turns(rt, `a${i}`, i * 10);
    clock.advance(1000);
    expect(rt.meter.sample().hot.map((a) => a.id)).toEqual(["a8", "a7", "a6"]);
    await rt.stop();
  });

  it("refuses nonsense options", () => {
    const clock = new ManualClock();
    expect(() => runtime(clock, { load: { halfLife: 0 } })).toThrow(RangeError);
    expect(() => runtime(clock, { load: { topActors: -1 } })).toThrow(RangeError);
  });
});

describe("TopN", () => {
  it("keeps the n highest scores, highest first, as a full sort would", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 200 }), fc.integer({ min: 0, max: 20 }), (scores, n) => {
        const top = new TopN<number>(n);
        for (const s of scores) top.offer(s, s);
        expect(top.sorted()).toEqual([...scores].sort((a, b) => b - a).slice(0, n));
      }),
    );
  });
});
