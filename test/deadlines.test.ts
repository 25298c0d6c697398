import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Deadlines, type Expirable } from "../src/runtime/deadlines.js";

class Entry implements Expirable {
  settled = false;
  expired = 0;
  constructor(readonly deadline: number) {}
  expire(): void {
    this.expired++;
    this.settled = true;
  }
}

type Op = { k: "add"; after: number } | { k: "settle"; pick: number } | { k: "advance"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  // A few timeouts repeat (the queue), others are shorter than the last (the heap).
  fc.record({ k: fc.constant("add" as const), after: fc.oneof(fc.constantFrom(50, 50, 50, 200), fc.integer({ min: 0, max: 300 })) }),
  fc.record({ k: fc.constant("settle" as const), pick: fc.nat() }),
  fc.record({ k: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120 }) }),
);

describe("Deadlines", () => {
  it("expires every unsettled entry once its deadline passes, never before, exactly once", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const clock = new ManualClock();
        const deadlines = new Deadlines(clock);
        const all: Entry[] = [];
        const answered = new Set<Entry>();
        for (const o of ops) {
          if (o.k === "add") {
            const e = new Entry(clock.now() + o.after);
            all.push(e);
            deadlines.add(e);
          } else if (o.k === "settle" && all.length > 0) {
            const e = all[o.pick % all.length]!;
            if (!e.settled) answered.add(e);
            e.settled = true;
          } else if (o.k === "advance") {
            clock.advance(o.ms);
          }
          for (const e of all) {
            expect(e.expired).toBeLessThanOrEqual(1);
            if (answered.has(e)) expect(e.expired).toBe(0);
            else if (e.deadline > clock.now()) expect(e.expired).toBe(0);
            // Timers run when the clock moves: after an advance, everything due has expired.
            else if (o.k === "advance") expect(e.expired).toBe(1);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("expires in deadline order when timeouts are mixed", () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const order: number[] = [];
    const at = (after: number) => {
      const deadline = clock.now() + after;
      deadlines.add({ deadline, settled: false, expire: () => order.push(deadline - clock.now()) });
      return deadline;
    };
    const due = [at(100), at(100), at(30), at(300), at(10), at(100), at(5)].sort((a, b) => a - b);
    const start = clock.now();
    clock.advance(1000);
    expect(order.length).toBe(due.length);
    // Each fired at its own deadline (ManualClock runs timers at their time), earliest first.
    expect(order.every((late) => late === 0)).toBe(true);
    expect(due.map((d) => d - start)).toEqual([5, 10, 30, 100, 100, 100, 300]);
  });

  it("holds roughly what is pending when asks are answered as they go", () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const open: Entry[] = [];
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      const e = new Entry(clock.now() + (i % 10 === 0 ? 5_000 : 30_000));
      open.push(e);
      deadlines.add(e);
      if (open.length > 128) open.shift()!.settled = true; // a window of 128 in flight
      most = Math.max(most, deadlines.size);
      if (i % 1000 === 0) clock.advance(1);
    }
    expect(most).toBeLessThan(2_000);
  });

  it("fires nothing after close", () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const e = new Entry(clock.now() + 10);
    deadlines.add(e);
    deadlines.close();
    clock.advance(100);
    expect(e.expired).toBe(0);
    expect(deadlines.size).toBe(0);
  });
});
