/** A client's half of per-sender order: one sender id, a sequence per actor, bounded, never restarted under the same sender. */
import { describe, expect, it } from "vitest";
import { SenderSequences } from "../src/client-order.js";
import { checkSender, type RequestEnvelope } from "../src/codec/envelope.js";

const stamp = (s: SenderSequences, type: string, id: string) => {
  const body: RequestEnvelope = { type, id, msg: {} };
  s.stamp(body);
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
});
