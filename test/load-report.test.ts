import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeLoadReport, encodeLoadReport, type LoadReport, MAX_REPORT_HOT } from "../cluster/load-report.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { ErrorCode, ShoalError } from "../src/errors.js";

const report: LoadReport = {
  node: "n 1.*",
  at: 1_700_000_000_000,
  every: 1000,
  shards: [
    { shard: 3, turnsPerSec: 412.345, mailbox: 2, actors: 7, stateBytes: 1234 },
    { shard: 5000, turnsPerSec: 0, mailbox: 0, actors: 1, stateBytes: 0 },
  ],
  hot: [{ type: "account", id: "hot.one >", shard: 3, turnsPerSec: 400.126 }],
};

/** A raw report as it would be on the wire, with `over` replacing fields. */
const raw = (over: Record<string, unknown> = {}) =>
  new MsgpackCodec().encode({ v: 1, node: "n1", at: 1, every: 1000, s: [[1, 2, 3, 4, 5]], h: [["account", "a", 1, 2]], ...over });

const refused = (bytes: Uint8Array, from = "n1") => {
  try {
    decodeLoadReport(bytes, from);
    return "decoded";
  } catch (err) {
    return ShoalError.is(err, ErrorCode.BAD_REQUEST) ? "refused" : `threw ${String(err)}`;
  }
};

describe("load report wire format", () => {
  it("round-trips, rates rounded to 1/100", () => {
    const back = decodeLoadReport(encodeLoadReport(report), "n 1.*");
    expect(back).toEqual({
      ...report,
      shards: [{ ...report.shards[0], turnsPerSec: 412.35 }, report.shards[1]],
      hot: [{ ...report.hot[0], turnsPerSec: 400.13 }],
    });
  });

  it("decodes a well-formed raw report", () => {
    expect(refused(raw())).toBe("decoded");
  });

  it("refuses a report its subject's node did not make", () => {
    expect(refused(raw(), "n2")).toBe("refused");
  });

  it.each([
    ["another version", { v: 2 }],
    ["no version", { v: undefined }],
    ["a negative time", { at: -1 }],
    ["a zero interval", { every: 0 }],
    ["an interval over 10 minutes", { every: 600_001 }],
    ["shards not a list", { s: {} }],
    ["a short shard entry", { s: [[1, 2, 3, 4]] }],
    ["a shard number that is not an integer", { s: [[1.5, 2, 3, 4, 5]] }],
    ["a negative shard", { s: [[-1, 2, 3, 4, 5]] }],
    ["a shard past 2^31-1", { s: [[2 ** 31, 2, 3, 4, 5]] }],
    [
      "shards out of order",
      {
        s: [
          [2, 0, 0, 1, 0],
          [1, 0, 0, 1, 0],
        ],
      },
    ],
    [
      "a shard twice",
      {
        s: [
          [2, 0, 0, 1, 0],
          [2, 0, 0, 1, 0],
        ],
      },
    ],
    ["a rate that is not a number", { s: [[1, "2", 3, 4, 5]] }],
    ["a negative rate", { s: [[1, -2, 3, 4, 5]] }],
    ["a fractional mailbox", { s: [[1, 2, 3.5, 4, 5]] }],
    ["a negative actor count", { s: [[1, 2, 3, -4, 5]] }],
    ["a hot entry too long", { h: [["account", "a", 1, 2, 3]] }],
    ["a hot type that is not a type name", { h: [["no.such", "a", 1, 2]] }],
    ["an empty hot id", { h: [["account", "", 1, 2]] }],
    ["a hot id over 512 bytes", { h: [["account", "x".repeat(513), 1, 2]] }],
    ["too many hot actors", { h: Array.from({ length: MAX_REPORT_HOT + 1 }, (_, i) => ["account", `a${i}`, 1, 2]) }],
    ["a forbidden key", { ["__proto__"]: 1 }],
  ])("refuses %s", (_, over) => {
    expect(refused(raw(over))).toBe("refused");
  });

  it("refuses what is not a report at all: too deep, a list, garbage", () => {
    expect(refused(raw({ s: [[[1]]] }))).toBe("refused");
    expect(refused(new MsgpackCodec().encode([1, 2]))).toBe("refused");
    expect(refused(new Uint8Array([0xc1]))).toBe("refused");
    expect(refused(new Uint8Array(1024 * 1024 + 1))).toBe("refused");
  });

  it("throws nothing but BAD_REQUEST on any bytes", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.anything().map((v) => new MsgpackCodec().encode(v)),
        ),
        (bytes) => {
          expect(["decoded", "refused"]).toContain(refused(bytes));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
