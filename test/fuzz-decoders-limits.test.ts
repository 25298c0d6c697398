/**
 * Decoder fuzz, the decode limits: structured values are refused exactly when past a limit or
 * holding a prototype key, and the default limits hold at and one past each boundary.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { defaultDecodeLimits } from "../src/codec/limits.js";
import { describeDecoderFuzz } from "./support/decoder-fuzz-suite.js";
import { expectDecodes, feed, small } from "./support/decoder-oracle.js";
import { anyValue, widthsArb } from "./support/hostile-values.js";
import { encodeAs, Obj, obj, type V } from "./support/wire-values.js";

const te = new TextEncoder();

describeDecoderFuzz("limits", 8_000, () => {
  it("structured values: refused exactly when past a limit or holding a prototype key", () => {
    fc.assert(
      fc.property(anyValue, widthsArb, fc.boolean(), (v, widths, wtf8) => {
        for (const fmt of ["msgpack", "json"] as const) {
          const bytes = encodeAs(v, fmt, widths, wtf8);
          expect(feed(bytes, fmt, small).decoded, fmt).toBe(expectDecodes(v, fmt, bytes.length, small));
        }
      }),
      { numRuns: 4000 },
    );
  });

  it("the default limits, at and one past each boundary", () => {
    const L = defaultDecodeLimits;
    const nest = (n: number, inner: V = 1): V => {
      let v = inner;
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    const env = (msg: V) => obj({ type: "account", id: "x", msg });
    const cases: Array<[string, V, boolean]> = [
      ["string at the limit", env("x".repeat(L.maxStringLength)), true],
      ["string past the limit", env("x".repeat(L.maxStringLength + 1)), false],
      ["array at the limit", env(new Array<V>(L.maxArrayLength).fill(0)), true],
      ["array past the limit", env(new Array<V>(L.maxArrayLength + 1).fill(0)), false],
      ["map at the limit", env(new Obj(Array.from({ length: L.maxMapLength }, (_, i) => [`k${i}`, 0] as const))), true],
      ["map past the limit", env(new Obj(Array.from({ length: L.maxMapLength + 1 }, (_, i) => [`k${i}`, 0] as const))), false],
      ["nesting at the limit", env(nest(L.maxDepth - 1)), true],
      ["nesting past the limit", env(nest(L.maxDepth)), false],
      ["prototype key deep down", env(nest(20, new Obj([["__proto__", new Obj([["polluted", true]])]]))), false],
      ["payload just under maxBytes", env("é".repeat(120_000)), true],
    ];
    for (const [name, v, ok] of cases) {
      for (const fmt of ["msgpack", "json"] as const) {
        const bytes = encodeAs(v, fmt, [3]);
        expect(feed(bytes, fmt).decoded, `${name} (${fmt})`).toBe(ok && bytes.length <= L.maxBytes);
      }
    }
    // Binary only in MessagePack: at the limit the payload itself is past maxBytes.
    expect(feed(encodeAs(env(new Uint8Array(L.maxBytes - 64)), "msgpack"), "msgpack").request).toBe(true);
    expect(feed(encodeAs(env(new Uint8Array(L.maxBinaryLength)), "msgpack"), "msgpack").decoded).toBe(false);
    // Payloads past maxBytes, nesting far past the limit, headers claiming 4 GiB with no body.
    for (const [name, bytes] of [
      ["msgpack over maxBytes", new Uint8Array(L.maxBytes + 1)],
      ["json over maxBytes", te.encode(`${" ".repeat(L.maxBytes)}1`)],
      ["100k nested msgpack arrays", new Uint8Array(100_000).fill(0x91)],
      ["100k nested msgpack maps", Uint8Array.from({ length: 100_000 }, (_, i) => (i % 2 === 0 ? 0x81 : 0xa0))],
      ["100k nested JSON arrays", te.encode("[".repeat(100_000) + "]".repeat(100_000))],
      ["100k nested JSON objects", te.encode(`${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`)],
      ["str32 of 4 GiB", Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])],
      ["bin32 of 4 GiB", Uint8Array.from([0xc6, 0xff, 0xff, 0xff, 0xff, 0x61])],
      ["ext32 of 4 GiB", Uint8Array.from([0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61])],
      ["array32 of 4 G", Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0])],
      ["map32 of 4 G", Uint8Array.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0xc0])],
      ["array16 of 65535 nils, 1 present", Uint8Array.from([0xdc, 0xff, 0xff, 0xc0])],
    ] as const) {
      for (const fmt of ["msgpack", "json"] as const) expect(feed(bytes, fmt).decoded, `${name} (${fmt})`).toBe(false);
    }
  });
});
