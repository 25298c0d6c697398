import { describe, expect, it } from "vitest";
import { BatchBuffer } from "../cluster/batch-buffer.js";
import { Coalescer, type CoalescerLimits } from "../cluster/coalesce.js";
import { afterJob } from "../src/after-job.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { turns } from "./support/turns.js";

describe("afterJob", () => {
  it("runs after every promise reaction the current job set off, however deep the chain", async () => {
    const seen: string[] = [];
    const chain = async (name: string, depth: number) => {
      for (let i = 0; i < depth; i++) await Promise.resolve();
      seen.push(name);
    };
    afterJob(() => seen.push("flush"));
    void chain("a", 1);
    void chain("b", 20);
    void Promise.resolve().then(() => Promise.resolve().then(() => seen.push("c")));
    await turns(1);
    expect(seen.at(-1)).toBe("flush");
    expect(seen.sort()).toEqual(["a", "b", "c", "flush"]);
  });

  it("runs before the event loop reaches I/O or timers", async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push("immediate"));
    setTimeout(() => seen.push("timer"), 0);
    afterJob(() => seen.push("flush"));
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    await turns(1);
    expect(seen[0]).toBe("flush");
  });
});

const codec = new MsgpackCodec();
const limits = (o: Partial<CoalescerLimits> = {}): CoalescerLimits => ({ maxItems: 100, flushBytes: 1 << 20, maxBytes: () => 1 << 20, ...o });
type Sent = [key: string, items: number[], decoded: unknown];

/** A coalescer of numbers whose wire entries are the numbers themselves (or `entryOf(n)`). */
function collector(o: Partial<CoalescerLimits> = {}, entryOf: (n: number) => unknown = (n) => n) {
  const sent: Sent[] = [];
  const c = new Coalescer<string, number>(
    (e) => codec.encodeView(e),
    (k, items, bytes) => sent.push([k, items, codec.decode(bytes)]),
    limits(o),
  );
  return { sent, add: (k: string, n: number) => c.add(k, n, entryOf(n)) };
}

describe("Coalescer", () => {
  it("sends the entries of one job as one MessagePack array per key, in the order added", async () => {
    const { sent, add } = collector();
    for (let i = 0; i < 10; i++) add(i % 2 === 0 ? "even" : "odd", i);
    await Promise.all([1, 2, 3].map(async (i) => add("later", i)));
    expect(sent).toEqual([]);
    await turns(1);
    expect(sent).toEqual([
      ["even", [0, 2, 4, 6, 8], [0, 2, 4, 6, 8]],
      ["odd", [1, 3, 5, 7, 9], [1, 3, 5, 7, 9]],
      ["later", [1, 2, 3], [1, 2, 3]],
    ]);
  });

  it("sends at once at maxItems or flushBytes, and separate jobs separately", async () => {
    const byCount = collector({ maxItems: 3 });
    for (let i = 0; i < 7; i++) byCount.add("k", i);
    expect(byCount.sent.map((s) => s[1])).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    await turns(1);
    byCount.add("k", 7);
    await turns(1);
    expect(byCount.sent.map((s) => s[2])).toEqual([[0, 1, 2], [3, 4, 5], [6], [7]]);

    const bySize = collector({ flushBytes: 250 }, (n) => "x".repeat(100) + n);
    for (let i = 0; i < 5; i++) bySize.add("k", i);
    expect(bySize.sent.map((s) => s[1])).toEqual([[0, 1, 2]]);
    await turns(1);
    expect(bySize.sent.map((s) => s[1])).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  it("never builds a message over maxBytes: it sends what it has first, and refuses an entry too big alone", async () => {
    const { sent, add } = collector({ maxBytes: () => 300 }, (n) => "y".repeat(n));
    expect(add("k", 120)).toBe(0);
    expect(add("k", 120)).toBe(0); // 2 × 122 bytes + header fit in 300
    expect(add("k", 100)).toBe(0); // would not: the first two leave now
    expect(sent.map((s) => s[1])).toEqual([[120, 120]]);
    expect(add("k", 400)).toBeGreaterThan(300);
    await turns(1);
    expect(sent.map((s) => s[1])).toEqual([[120, 120], [100]]);
  });

  it("reports a send that throws and keeps working", async () => {
    const errors: unknown[] = [];
    const sent: number[][] = [];
    const c = new Coalescer<string, number>(
      (e) => codec.encodeView(e),
      (k, items) => {
        if (k === "bad") throw new Error("boom");
        sent.push(items);
      },
      limits(),
      (e) => errors.push(e),
    );
    c.add("bad", 1, 1);
    c.add("good", 2, 2);
    await turns(1);
    c.add("good", 3, 3);
    await turns(1);
    expect(errors).toHaveLength(1);
    expect(sent).toEqual([[2], [3]]);
  });
});

describe("BatchBuffer", () => {
  it("grows as needed and yields one MessagePack array per take, reusing its memory", () => {
    const b = new BatchBuffer();
    const entries = Array.from({ length: 300 }, (_, i) => ({ i, pad: "z".repeat(200) }));
    for (const e of entries) b.append(codec.encode(e));
    expect(b.count).toBe(300);
    expect(codec.decode(b.take())).toEqual(entries);
    expect(b.count).toBe(0);
    b.append(codec.encode("again"));
    expect(codec.decode(b.take())).toEqual(["again"]);
    expect(codec.decode(b.take())).toEqual([]);
  });
});
