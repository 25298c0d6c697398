/**
 * Decoder fuzz, the node-to-node envelope: a hostile node request (ask, handoff, tail-end, an
 * unknown kind) is accepted exactly when every field is valid.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { parseRpc } from "../cluster/wire.js";
import { ErrorCode } from "../src/errors.js";
import { describeDecoderFuzz } from "./support/decoder-fuzz-suite.js";
import { expectRpc, feed } from "./support/decoder-oracle.js";
import { rpcArb, widthsArb } from "./support/hostile-values.js";
import { encodeAs, jsonText } from "./support/wire-values.js";

const te = new TextEncoder();

describeDecoderFuzz("node requests", 10_000, () => {
  it("hostile node requests (ask, handoff, tail-end, unknown kinds): accepted exactly when every field is valid", () => {
    fc.assert(
      fc.property(rpcArb, widthsArb, fc.boolean(), (v, widths, wtf8) => {
        for (const fmt of ["msgpack", "json"] as const) {
          const out = feed(encodeAs(v, fmt, widths, wtf8), fmt);
          if (out.decoded) expect(out.rpc, jsonText(v).slice(0, 300)).toBe(expectRpc(out.value));
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("checks a handoff's timers field by field: each bound accepted at its limit and refused past it", () => {
    const handoff = (timers: unknown) => ({
      k: "handoff",
      shard: 1,
      mapVersion: 1,
      epoch: 1,
      from: "n1",
      actors: [{ type: "t", id: "a", version: 0, state: null, timers }],
    });
    const ok = { name: "x".repeat(200), in: 2 ** 31 - 1, every: 2 ** 31 - 1, msg: { tick: {} } };
    expect(() => parseRpc(handoff([ok, { name: "y", in: 0, msg: null }]))).not.toThrow();
    expect(() => parseRpc(handoff(Array.from({ length: 256 }, (_, i) => ({ name: `t${i}`, in: 0, msg: 1 }))))).not.toThrow();
    for (const bad of [
      { ...ok, name: "" },
      { ...ok, name: "x".repeat(201) },
      { ...ok, name: 7 },
      { ...ok, in: -1 },
      { ...ok, in: 1.5 },
      { ...ok, in: 2 ** 31 },
      { ...ok, every: 0 },
      { ...ok, every: 2 ** 31 },
      { ...ok, every: "1" },
      { name: "x", in: 0 },
      { ...ok, extra: 1 },
      [ok],
    ]) {
      expect(() => parseRpc(handoff([bad])), JSON.stringify(bad).slice(0, 80)).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    }
    expect(() => parseRpc(handoff(Array.from({ length: 257 }, (_, i) => ({ name: `t${i}`, in: 0, msg: 1 }))))).toThrow(
      expect.objectContaining({ code: ErrorCode.BAD_REQUEST }),
    );
    expect(() => parseRpc(handoff({}))).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
  });

  it("refuses a node request whose kind cannot be turned into a string (regression)", () => {
    // {"k": {"toString": ""}} once made parseRpc throw a TypeError (String() on it), which the
    // node answered as INTERNAL.
    for (const k of [{ toString: "" }, [{ toString: 1 }], { valueOf: 1, toString: 2 }, Object.create(null) as unknown]) {
      expect(() => parseRpc({ k })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    }
    expect(feed(te.encode('{"k":{"toString":""}}'), "json").decoded).toBe(true);
  });
});
