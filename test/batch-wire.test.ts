import { describe, expect, it } from "vitest";
import { errorEntry, okEntry, parseRequestBatch, tellsEntry, readReplyBatch, requestEntry } from "../cluster/batch-wire.js";
import type { RpcRequest } from "../cluster/wire.js";
import { ErrorCode, RejectedError } from "../src/errors.js";
import { thrownCode } from "./support/outcomes.js";

const ask = (id: string) => ({ k: "ask", type: "account", id, msg: { balance: {} }, timeoutMs: 1000, mapVersion: 1, hops: 0 });
const code = thrownCode;

describe("node request batches", () => {
  it("reads [corr, request] pairs in order, and answers a malformed request alone", () => {
    const items = parseRequestBatch([
      [7, ask("a")],
      [3, { k: "ask", type: "account" }],
      [9, ask("b")],
    ]);
    expect(items.map((i) => i.corr)).toEqual([7, 3, 9]);
    expect("req" in items[0]! && items[0].req).toMatchObject({ k: "ask", id: "a" });
    expect("error" in items[1]! && items[1].error.code).toBe(ErrorCode.BAD_REQUEST);
    expect("req" in items[2]! && items[2].req).toMatchObject({ id: "b" });
  });

  it("reads the flat form of an ask like the object form", () => {
    const [flat, bad] = parseRequestBatch([
      [1, "account", "a", { balance: {} }, 1000, 1, 0, 7, 1],
      [2, "account", "a", { balance: {} }, 1000, 1, 0, null, 2],
    ]);
    expect("req" in flat! && flat.req).toEqual({
      k: "ask",
      type: "account",
      id: "a",
      msg: { balance: {} },
      timeoutMs: 1000,
      mapVersion: 1,
      hops: 0,
      tail: 7,
      discard: true,
    });
    expect("error" in bad! && bad.error.code).toBe(ErrorCode.BAD_REQUEST);
    const [plain] = parseRequestBatch([[3, "account", "b", null, 5, 0, 0, null, 0]]);
    expect("req" in plain! && plain.req).toEqual({ k: "ask", type: "account", id: "b", msg: null, timeoutMs: 5, mapVersion: 0, hops: 0 });
    expect(requestEntry(9, ask("z") as RpcRequest)).toEqual([9, "account", "z", { balance: {} }, 1000, 1, 0, null, 0]);
  });

  it("carries a client's sender and seq at the end of the flat form and in the object form, checked like the ingress's", () => {
    const ordered = { ...ask("o"), order: { sender: "c-1", seq: 42, settled: 40 } } as RpcRequest;
    const entry = requestEntry(5, ordered);
    expect(entry).toEqual([5, "account", "o", { balance: {} }, 1000, 1, 0, null, 0, "c-1", 42, 40]);
    const tell = [0, "account", "o", {}, 1000, 1, 0, null, 2, "c-1", 43, 0];
    const [flat, obj, told, ...bad] = parseRequestBatch([
      entry,
      [6, ordered],
      tell,
      [8, "account", "o", {}, 1000, 1, 0, null, 0, "c 1", 1, 0],
      [9, "account", "o", {}, 1000, 1, 0, null, 0, "c-1", 0, 0],
      [10, "account", "o", {}, 1000, 1, 0, null, 0, "x".repeat(65), 1, 0],
      [11, { ...ask("o"), order: { seq: 3, settled: 0 } }],
      [12, { ...ask("o"), order: { sender: "c-1", seq: 1.5, settled: 0 } }],
      [13, "account", "o", {}, 1000, 1, 0, null, 0, "c-1", 5, 5],
      [14, { ...ask("o"), order: { sender: "c-1", seq: 2, settled: 0, x: 1 } }],
    ]);
    expect("req" in flat! && flat.req).toEqual(ordered);
    expect("req" in obj! && obj.req).toEqual(ordered);
    expect("req" in told! && told.req).toMatchObject({ tell: true, order: { sender: "c-1", seq: 43, settled: 0 } });
    expect(bad.map((b) => ("error" in b ? b.error.code : "accepted"))).toEqual(Array(7).fill(ErrorCode.BAD_REQUEST));
    // Order fields cut short make a flat entry of no known length: the whole batch is refused.
    expect(code(() => parseRequestBatch([[7, "account", "o", {}, 1000, 1, 0, null, 0, "c-1", 1]]))).toBe(ErrorCode.BAD_REQUEST);
  });

  it("carries a message between actors' from at the end of the flat form, with or without order, beside other calls", () => {
    const from = { origin: { type: "account", id: "a", v: 3, i: 0 }, chain: [{ type: "ping", id: "p" }] };
    const plain = { ...ask("f"), discard: true, from } as RpcRequest;
    const ordered = { ...ask("g"), order: { sender: "c-1", seq: 2, settled: 1 }, from } as RpcRequest;
    const entries = [
      requestEntry(1, ask("x") as RpcRequest),
      requestEntry(2, plain),
      requestEntry(3, ordered),
      [4, "account", "o", {}, 1000, 1, 0, null, 0, { o: [] }],
    ];
    expect(entries.map((e) => e.length)).toEqual([9, 10, 13, 10]);
    const read = parseRequestBatch(entries);
    expect(read.map((r) => ("req" in r ? r.req : r.error.code))).toEqual([ask("x"), plain, ordered, ErrorCode.BAD_REQUEST]);
  });

  it("reads tells: corr 0, any number of them, each flagged; a tell with a corr of its own or corr 0 on anything else is refused", () => {
    const items = parseRequestBatch([
      [0, "account", "a", { n: 1 }, 1000, 1, 0, null, 2],
      [4, "account", "a", { n: 2 }, 1000, 1, 0, null, 1],
      [0, "account", "b", { n: 3 }, 1000, 1, 0, null, 2],
      [0, "account", "", { n: 4 }, 1000, 1, 0, null, 2],
      [5, "account", "c", { n: 5 }, 1000, 1, 0, null, 2],
    ]);
    expect(items.map((i) => i.corr)).toEqual([0, 4, 0, 0, 5]);
    expect("req" in items[0]! && items[0].req).toEqual({
      k: "ask",
      type: "account",
      id: "a",
      msg: { n: 1 },
      timeoutMs: 1000,
      mapVersion: 1,
      hops: 0,
      discard: true,
      tell: true,
    });
    expect("req" in items[1]! && items[1].req).not.toHaveProperty("tell");
    expect("req" in items[2]! && items[2].req).toMatchObject({ id: "b", tell: true });
    expect("error" in items[3]! && items[3].error.code).toBe(ErrorCode.BAD_REQUEST); // a bad id: counted failed in the acknowledgement
    expect("error" in items[4]! && items[4].error.code).toBe(ErrorCode.BAD_REQUEST); // answered alone, to its corr
    for (const bad of [[[0, "account", "a", {}, 1000, 1, 0, null, 1]], [[0, "account", "a", {}, 1000, 1, 0, null, 0]], [[0, { ...ask("a"), discard: true }]]]) {
      expect(
        code(() => parseRequestBatch(bad)),
        JSON.stringify(bad),
      ).toBe(ErrorCode.BAD_REQUEST);
    }
    const [stringCode] = parseRequestBatch([[6, "account", "a", {}, 1000, 1, 0, null, "1"]]);
    expect("error" in stringCode! && stringCode.error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(requestEntry(0, { ...ask("p"), discard: true, tell: true } as RpcRequest)).toEqual([0, "account", "p", { balance: {} }, 1000, 1, 0, null, 2]);
  });

  it("refuses as a whole what is not a non-empty list of pairs with distinct positive integer corrs", () => {
    for (const bad of [
      ask("a"),
      [],
      null,
      "x",
      [[0, ask("a")]],
      [[-1, ask("a")]],
      [[1.5, ask("a")]],
      [["1", ask("a")]],
      [
        [1, ask("a")],
        [1, ask("b")],
      ],
      [[1, ask("a"), 0]],
      [ask("a")],
      [[1, "account", "a", {}, 1000, 1, 0, null]],
    ]) {
      expect(
        code(() => parseRequestBatch(bad)),
        JSON.stringify(bad),
      ).toBe(ErrorCode.BAD_REQUEST);
    }
  });
});

/** Reads a reply batch into a list: ["ok", corr, reply] / ["error", corr, error], or the whole-batch answer. */
function read(value: unknown) {
  const got: unknown[] = [];
  const all = readReplyBatch(
    value,
    { ok: (c, r) => got.push(["ok", c, r]), error: (c, e) => got.push(["error", c, e]), told: (b, n) => got.push(["told", b, n]) },
    9,
  );
  return all === undefined ? got : { all };
}

describe("reply batches", () => {
  it("reads answers by corr, skipping malformed entries", () => {
    const r = read([
      [1, 5],
      [2, null, { code: "TIMEOUT", message: "late" }],
      [3, null, { nope: 1 }],
      [4, 1, { code: "X", message: "y" }],
      "junk",
      [0, 1],
      [0, -1],
      [0, "2"],
      [0, 1, 2],
      [5],
    ]);
    expect(r).toEqual([
      ["ok", 1, 5],
      ["error", 2, { code: "TIMEOUT", message: "late" }],
      ["told", 9, 1],
    ]);
  });

  it("writes what it reads", () => {
    const entries = [okEntry(1, { a: 1 }), errorEntry(2, new RejectedError("no")), tellsEntry(3)];
    expect(read(entries)).toEqual([
      ["ok", 1, { a: 1 }],
      ["error", 2, { code: "REJECTED", message: "no" }],
      ["told", 9, 3],
    ]);
  });

  it("reads one envelope as the answer to the whole batch, and refuses anything else", () => {
    expect(read({ ok: false, error: { code: "BAD_REQUEST", message: "x" } })).toEqual({ all: { ok: false, error: { code: "BAD_REQUEST", message: "x" } } });
    expect(code(() => read({ hello: 1 }))).toBe(ErrorCode.BAD_REQUEST);
  });
});
