/** A client's half of per-sender order: one sender id, a sequence per actor, bounded, never restarted under the same sender. */
import { describe, expect, it } from "vitest";
import { SenderSequences } from "../src/client-order.js";
import { checkSender, type RequestEnvelope } from "../src/codec/envelope.js";

const stamp = (s: SenderSequences, type: string, id: string, timeoutMs = 1000) => {
  const body: RequestEnvelope = { type, id, msg: {} };
  s.stamp(body, timeoutMs);
  return [body.sender!, body.seq!] as const;
};

describe("SenderSequences", () => {
  it("numbers each actor's messages 1, 2, 3… under one valid sender id, random per client", () => {
    const s = new SenderSequences();
    const [sender] = stamp(s, "account", "a");
    expect(checkSender(sender)).toBe(sender);
    expect(stamp(s, "account", "a")).toEqual([sender, 2]);
    expect(stamp(s, "account", "b")).toEqual([sender, 1]);
    expect(stamp(s, "counter", "a")).toEqual([sender, 1]);
    expect(stamp(s, "account", "a")).toEqual([sender, 3]);
    expect(stamp(new SenderSequences(), "account", "a")[0]).not.toBe(sender);
  });

  it("past its bound forgets the least recently called actor, and numbers new ones under a fresh sender id", () => {
    const s = new SenderSequences(2);
    const [first] = stamp(s, "t", "a");
    stamp(s, "t", "b");
    stamp(s, "t", "a"); // a is now the most recently used
    const [second, seq] = stamp(s, "t", "c"); // forgets b
    expect(second).not.toBe(first);
    expect(seq).toBe(1);
    expect(stamp(s, "t", "a")).toEqual([first, 3]); // a keeps its sender and count
    const [third, again] = stamp(s, "t", "b"); // b starts again at 1, never under the sender it used
    expect(again).toBe(1);
    expect(third).not.toBe(first);
    expect(checkSender(third)).toBe(third);
  });

  it("says up to which number the earlier messages are settled: past their timeout and a 1 s margin", () => {
    let now = 0;
    const s = new SenderSequences(10, () => now);
    const settledOf = (timeoutMs: number) => {
      const body: RequestEnvelope = { type: "t", id: "a", msg: {} };
      s.stamp(body, timeoutMs);
      return [body.seq, body.settled];
    };
    expect(settledOf(1000)).toEqual([1, undefined]); // nothing settled yet: the field is left out
    now = 50;
    expect(settledOf(1000)).toEqual([2, undefined]); // same checkpoint as 1 (within 100 ms), live until 2050
    now = 500;
    expect(settledOf(5000)).toEqual([3, undefined]); // live until 6500
    now = 2049;
    expect(settledOf(1000)).toEqual([4, undefined]);
    now = 2050;
    expect(settledOf(1000)).toEqual([5, 2]); // 1 and 2 can no longer reach a turn; 3 can
    now = 4100;
    expect(settledOf(1000)).toEqual([6, 2]); // 4 and 5 have expired (4050), but 3 has not: 2 it stays
    now = 6500;
    expect(settledOf(1000)).toEqual([7, 6]); // 3 expired at last, and 4–6 before it
    now = 10_000;
    expect(settledOf(1000)).toEqual([8, 7]);
  });
});
