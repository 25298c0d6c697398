import { describe, expect, it } from "vitest";
import { afterJob, Coalescer } from "../cluster/coalesce.js";

/** Resolves after the event loop has turned once (I/O phase), i.e. after any afterJob flush. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
    await nextTurn();
    expect(seen.at(-1)).toBe("flush");
    expect(seen.sort()).toEqual(["a", "b", "c", "flush"]);
  });

  it("runs before the event loop reaches I/O or timers", async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push("immediate"));
    setTimeout(() => seen.push("timer"), 0);
    afterJob(() => seen.push("flush"));
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    await nextTurn();
    expect(seen[0]).toBe("flush");
  });
});

describe("Coalescer", () => {
  it("hands over the items of one job in one call per key, in the order added", async () => {
    const sent: Array<[string, number[]]> = [];
    const c = new Coalescer<string, number>((k, items) => sent.push([k, items]), 100);
    for (let i = 0; i < 10; i++) c.add(i % 2 === 0 ? "even" : "odd", i);
    await Promise.all([1, 2, 3].map(async (i) => c.add("later", i)));
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual([
      ["even", [0, 2, 4, 6, 8]],
      ["odd", [1, 3, 5, 7, 9]],
      ["later", [1, 2, 3]],
    ]);
  });

  it("sends at once when a key holds maxItems, and separate jobs separately", async () => {
    const sent: number[][] = [];
    const c = new Coalescer<string, number>((_k, items) => sent.push(items), 3);
    for (let i = 0; i < 7; i++) c.add("k", i);
    expect(sent).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    await nextTurn();
    c.add("k", 7);
    await nextTurn();
    expect(sent).toEqual([[0, 1, 2], [3, 4, 5], [6], [7]]);
  });

  it("reports a send that throws and keeps working", async () => {
    const errors: unknown[] = [];
    const sent: number[][] = [];
    const c = new Coalescer<string, number>(
      (k, items) => {
        if (k === "bad") throw new Error("boom");
        sent.push(items);
      },
      10,
      (e) => errors.push(e),
    );
    c.add("bad", 1);
    c.add("good", 2);
    await nextTurn();
    c.add("good", 3);
    await nextTurn();
    expect(errors).toHaveLength(1);
    expect(sent).toEqual([[2], [3]]);
  });
});
