/**
 * Byte-level damage for the decoder fuzz: MessagePack markers to insert, mutations (flips,
 * truncation, insertion, deletion, overwrites, duplication) and rewritten length headers.
 */
import fc from "fast-check";
import type { DecodeLimits } from "../../src/codec/limits.js";
import type { LengthHeader } from "./wire-values.js";

export const markers = [
  0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
  0xbf, 0xff,
];
export type ByteMutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; n: number }
  | { op: "marker"; at: number; byte: number }
  | { op: "duplicate"; at: number; n: number; to: number }
  | { op: "append"; bytes: Uint8Array };
export const byteMutation = (alphabet: fc.Arbitrary<number>): fc.Arbitrary<ByteMutation> =>
  fc.oneof(
    fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(alphabet, { minLength: 1, maxLength: 6 }).map((a) => Uint8Array.from(a)) }),
    fc.record({ op: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ op: fc.constant("marker" as const), at: fc.nat(), byte: alphabet }),
    fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }), to: fc.nat() }),
    fc.record({ op: fc.constant("append" as const), bytes: fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => Uint8Array.from(a)) }),
  );

export function mutate(input: Uint8Array, m: ByteMutation): Uint8Array {
  const b = Array.from(input);
  const at = (i: number) => (b.length === 0 ? 0 : i % (b.length + 1));
  switch (m.op) {
    case "flip":
      if (b.length > 0) b[m.at % b.length]! ^= 1 << m.bit;
      break;
    case "truncate":
      b.length = at(m.at);
      break;
    case "insert":
      b.splice(at(m.at), 0, ...m.bytes);
      break;
    case "delete":
      b.splice(at(m.at), m.n);
      break;
    case "marker":
      if (b.length > 0) b[m.at % b.length] = m.byte;
      break;
    case "duplicate": {
      const from = at(m.at);
      b.splice(at(m.to), 0, ...b.slice(from, from + m.n));
      break;
    }
    case "append":
      b.push(...m.bytes);
      break;
  }
  return Uint8Array.from(b);
}

export type Inflation = "plus1" | "plus7" | "max" | "limit" | "limitPlus1" | "zero" | "minus1";
/** Rewrites one length header of an encoding (the count of a str/bin/array/map/ext). */
export function inflate(bytes: Uint8Array, h: LengthHeader, how: Inflation, L: DecodeLimits): Uint8Array {
  const out = Uint8Array.from(bytes);
  const max = h.size === 0 ? h.fixMax! : 2 ** (8 * h.size) - 1;
  let current = 0;
  if (h.size === 0) current = out[h.at]! & h.fixMax!;
  else for (let i = 0; i < h.size; i++) current = current * 256 + out[h.at + i]!;
  const limit = { str: L.maxStringLength, bin: L.maxBinaryLength, ext: L.maxBinaryLength, array: L.maxArrayLength, map: L.maxMapLength }[h.kind];
  const wanted = { plus1: current + 1, plus7: current + 7, max, limit, limitPlus1: limit + 1, zero: 0, minus1: current - 1 }[how];
  const n = Math.max(0, Math.min(max, wanted));
  if (h.size === 0) out[h.at] = (out[h.at]! & ~h.fixMax!) | n;
  else for (let i = h.size - 1, x = n; i >= 0; i--, x = Math.floor(x / 256)) out[h.at + i] = x % 256;
  return out;
}
