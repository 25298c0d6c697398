/** Per-sender order on one actor: the pure table (run / held / late, gap timeouts, bounds, handoff). */
import { describe, expect, it } from "vitest";
import { SenderOrder, type SenderOrderOptions } from "../src/runtime/sender-order.js";

const opts: SenderOrderOptions = { maxSenders: 4, forgetAfter: 60_000, gapTimeout: 100 };
const FAR = 1_000_000; // a deadline that never bounds the gap timeout

/** Runs what the table lets through, as an activation would: admitted messages and released ones, in turn. */
function harness(o: Partial<SenderOrderOptions> = {}) {
  const order = new SenderOrder<string>({ ...opts, ...o });
  const applied: string[] = [];
  const refused: string[] = [];
  let now = 0;
  const drainReady = () => {
    for (let r = order.takeReady(); r !== undefined; r = order.takeReady()) {
      applied.push(r.item);
      order.applied(r.sender, r.seq, now);
    }
  };
  const arrive = (sender: string, seq: number, deadline = now + FAR, settled = 0) => {
    const item = `${sender}${seq}`;
    const v = order.admit(sender, seq, settled, item, now, deadline);
    if (v === "run") {
      applied.push(item);
      order.applied(sender, seq, now);
      drainReady();
    } else if (v === "late") refused.push(item);
    return v;
  };
  const advance = (ms: number) => {
    now += ms;
    order.release(now);
    drainReady();
  };
  return { order, applied, refused, arrive, advance, now: () => now };
}

describe("SenderOrder", () => {
  it("runs messages that come in order at once", () => {
    const h = harness();
    for (const seq of [1, 2, 3]) expect(h.arrive("a", seq)).toBe("run");
    expect(h.applied).toEqual(["a1", "a2", "a3"]);
    expect(h.order.expected("a")).toBe(4);
  });

  it("holds an early message until the missing one arrives, then runs both in order", () => {
    const h = harness();
    expect(h.arrive("a", 2)).toBe("held");
    expect(h.arrive("a", 3)).toBe("held");
    expect(h.applied).toEqual([]);
    expect(h.order.size).toBe(2);
    expect(h.arrive("a", 1)).toBe("run");
    expect(h.applied).toEqual(["a1", "a2", "a3"]);
    expect(h.order.size).toBe(0);
    expect(h.order.nextRelease()).toBeUndefined();
  });

  it("a new sender is expected to start at 1: its pipelined first messages are ordered too", () => {
    const h = harness();
    h.arrive("b", 2);
    h.arrive("b", 1);
    expect(h.applied).toEqual(["b1", "b2"]);
  });

  it("gives up on a gap after the gap timeout: the lowest held message runs, the rest follow", () => {
    const h = harness();
    h.arrive("a", 1);
    h.arrive("a", 3);
    h.arrive("a", 4);
    expect(h.order.nextRelease()).toBe(100);
    h.advance(99);
    expect(h.applied).toEqual(["a1"]);
    h.advance(1);
    expect(h.applied).toEqual(["a1", "a3", "a4"]);
    // The message of the gap arrives after all: a later one ran, so it is refused.
    expect(h.arrive("a", 2)).toBe("late");
    expect(h.refused).toEqual(["a2"]);
    expect(h.applied).toEqual(["a1", "a3", "a4"]);
  });

  it("the gap timeout is at most half of the message's remaining deadline", () => {
    const h = harness();
    h.arrive("a", 2, 40); // deadline 40 ms away: released at 20, not 100
    expect(h.order.nextRelease()).toBe(20);
    h.advance(20);
    expect(h.applied).toEqual(["a2"]);
  });

  it("refuses a message behind one already applied, and a repeat of one applied or held", () => {
    const h = harness();
    h.arrive("a", 1);
    h.arrive("a", 2);
    expect(h.arrive("a", 1)).toBe("late");
    expect(h.arrive("a", 2)).toBe("late");
    h.arrive("a", 4);
    expect(h.arrive("a", 4)).toBe("late");
    expect(h.applied).toEqual(["a1", "a2"]);
    expect(h.refused).toEqual(["a1", "a2", "a4"]);
  });

  it("a message's settled moves the expectation up: no wait for what can no longer arrive, and held ones below it are refused", () => {
    const h = harness();
    expect(h.arrive("a", 5, FAR, 4)).toBe("run"); // an unknown sender whose 1–4 are all settled: no gap timeout
    expect(h.arrive("a", 7, FAR, 5)).toBe("held"); // 6 may still come
    expect(h.arrive("a", 9, FAR, 5)).toBe("held");
    expect(h.arrive("a", 10, FAR, 8)).toBe("held"); // 6–8 settled: the held 7 was dropped, 9 runs, then 10
    expect(h.order.takeDropped()).toEqual(["a7"]);
    expect(h.applied).toEqual(["a5"]);
    expect(h.order.takeReady()?.item).toBe("a9");
    h.order.applied("a", 9, 0);
    expect(h.order.takeReady()?.item).toBe("a10");
    expect(h.order.nextRelease()).toBeUndefined();
  });

  it("a repeat of a held message that a settled releases is refused, not run twice", () => {
    const h = harness();
    h.arrive("a", 1);
    h.arrive("a", 3);
    expect(h.arrive("a", 3, FAR, 2)).toBe("late");
    expect(h.order.takeReady()?.item).toBe("a3");
  });

  it("keeps each sender's order apart: one sender's gap does not hold another's messages", () => {
    const h = harness();
    h.arrive("a", 2);
    h.arrive("b", 1);
    h.arrive("b", 2);
    expect(h.applied).toEqual(["b1", "b2"]);
    h.arrive("a", 1);
    expect(h.applied).toEqual(["b1", "b2", "a1", "a2"]);
  });

  it("a message whose turn failed and is retried keeps its place (no applied call): its retry runs", () => {
    const h = harness();
    h.arrive("a", 1);
    expect(h.order.admit("a", 2, 0, "a2", h.now(), FAR)).toBe("run"); // its turn fails with CONFLICT: not applied
    expect(h.order.admit("a", 3, 0, "a3", h.now(), FAR)).toBe("held");
    expect(h.arrive("a", 2)).toBe("run"); // the router's retry
    expect(h.applied).toEqual(["a1", "a2", "a3"]);
  });

  it("remembers at most maxSenders, forgetting the least recently used one without held messages", () => {
    const h = harness();
    for (const s of ["s1", "s2", "s3", "s4"]) h.arrive(s, 1);
    h.arrive("s1", 2); // s1 is now the most recently used
    h.arrive("s5", 1); // evicts s2
    expect(h.order.senderCount).toBe(4);
    expect(h.order.expected("s2")).toBe(1);
    expect(h.order.expected("s1")).toBe(3);
    expect(h.order.expected("s3")).toBe(2);
  });

  it("never forgets a sender with held messages to make room", () => {
    const h = harness({ maxSenders: 2 });
    h.arrive("a", 2); // held: a expects 1
    h.arrive("b", 1);
    h.arrive("c", 1); // evicts b, not a
    expect(h.order.expected("b")).toBe(1);
    h.arrive("a", 1);
    expect(h.applied).toEqual(["b1", "c1", "a1", "a2"]);
  });

  it("forgets senders idle for forgetAfter when a new sender comes", () => {
    const h = harness();
    h.arrive("a", 1);
    h.advance(60_000);
    h.arrive("b", 1);
    expect(h.order.senderCount).toBe(1);
    expect(h.order.expected("a")).toBe(1);
  });

  it("drains held and released messages for a pause, and exports and imports its table for a handoff", () => {
    const h = harness();
    h.arrive("a", 1);
    h.arrive("a", 3);
    h.arrive("b", 5);
    expect(h.order.drain().sort()).toEqual(["a3", "b5"]);
    expect(h.order.size).toBe(0);
    expect(h.order.nextRelease()).toBeUndefined();
    const table = h.order.export();
    expect(table).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
    const there = new SenderOrder<string>(opts);
    there.import(table, 0);
    expect(there.admit("a", 1, 0, "a1", 0, FAR)).toBe("late");
    expect(there.admit("a", 2, 0, "a2", 0, FAR)).toBe("run");
    expect(there.admit("b", 3, 0, "b3", 0, FAR)).toBe("held");
  });

  it("imports at most maxSenders entries, the most recently used kept", () => {
    const order = new SenderOrder<string>({ ...opts, maxSenders: 2 });
    order.import(
      [
        ["old", 9],
        ["mid", 5],
        ["new", 7],
      ],
      0,
    );
    expect(order.senderCount).toBe(2);
    expect(order.expected("old")).toBe(1);
    expect(order.expected("new")).toBe(7);
  });
});
