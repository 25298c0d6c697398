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

  it("refuses a node request whose kind cannot be turned into a string (regression)", () => {
    // {"k": {"toString": ""}} once made parseRpc throw a TypeError (String() on it), which the
    // node answered as INTERNAL.
    for (const k of [{ toString: "" }, [{ toString: 1 }], { valueOf: 1, toString: 2 }, Object.create(null) as unknown]) {
      expect(() => parseRpc({ k })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    }
    expect(feed(te.encode('{"k":{"toString":""}}'), "json").decoded).toBe(true);
  });
});
