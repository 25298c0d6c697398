/**
 * Hostile input at the two decoders a node exposes (invariant 6 of DESIGN.md): the ingress
 * (`decodeJson` / `MsgpackCodec.decode` + `parseRequest`) and the node-to-node rpc
 * (`MsgpackCodec.decode` + `parseRpc`). Every generated input must either parse into a
 * well-formed value or be refused with a BAD_REQUEST — never another error, never a hang.
 * Where the expected answer is known (structured values, limit boundaries) it is checked too.
 *
 * Inputs: random bytes, mutated valid envelopes (bit flips, truncation, splicing, inflated
 * length headers of every MessagePack format), and structured hostile values (prototype keys
 * at any depth, nesting past the limit, sizes around the limits, wrong types in every field,
 * hostile ids and kinds). Sizes are bounded so the whole file runs in a few seconds.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parseRpc } from "../cluster/wire.js";
import { ACTOR_TYPE_PATTERN, MAX_ACTOR_ID_BYTES } from "../src/actor/names.js";
import { MAX_TIMEOUT_MS, parseRequest } from "../src/codec/envelope.js";
import { decodeJson } from "../src/codec/json.js";
import { type DecodeLimits, defaultDecodeLimits, forbiddenKeys } from "../src/codec/limits.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { ErrorCode, ShoalError } from "../src/errors.js";

// ---- the value model: what a hostile sender can put on the wire --------------------------------

/** An object as a list of entries, so keys like `__proto__` stay plain data. */
class Obj {
  constructor(readonly entries: ReadonlyArray<readonly [string, V]>) {}
}
/** A MessagePack extension value (JSON writes it as null). */
class Ext {
  constructor(readonly type: number, readonly data: Uint8Array) {}
}
/** A number written as this exact JSON token (`1e400`, `-0`, `9007199254740993`). */
class Num {
  constructor(readonly text: string) {}
}
type V = null | boolean | number | string | Uint8Array | Ext | Num | Obj | V[];

const ABSENT = Symbol("absent");
type Field = V | typeof ABSENT;
const obj = (fields: Record<string, Field>, extra: ReadonlyArray<readonly [string, V]> = []): Obj =>
  new Obj([...Object.entries(fields).filter((e): e is [string, V] => e[1] !== ABSENT), ...extra.filter(([k]) => !(k in fields))]);

type Fmt = "json" | "msgpack";

/** Where a length sits in an encoding: `size` bytes at `at`, or (size 0) the low bits of the marker at `at`. */
interface LengthHeader {
  at: number;
  size: 0 | 1 | 2 | 4;
  kind: "str" | "bin" | "array" | "map" | "ext";
  fixMax?: number;
}

/** A MessagePack writer that picks the width of every header from `widths` and records where lengths are. */
class MsgpackWriter {
  private readonly out: number[] = [];
  readonly headers: LengthHeader[] = [];
  private turn = 0;

  constructor(private readonly widths: readonly number[] = [0], private readonly wtf8 = false) {}

  static encode(v: V, widths?: readonly number[], wtf8?: boolean): { bytes: Uint8Array; headers: LengthHeader[] } {
    const w = new MsgpackWriter(widths, wtf8);
    w.value(v);
    return { bytes: Uint8Array.from(w.out), headers: w.headers };
  }

  private width(): number {
    return this.widths.length === 0 ? 0 : this.widths[this.turn++ % this.widths.length]!;
  }

  private uint(n: number | bigint, size: number): void {
    if (size <= 4 && typeof n === "number") {
      for (let i = size - 1; i >= 0; i--) this.out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
      return;
    }
    let b = BigInt(n);
    const bytes: number[] = [];
    for (let i = 0; i < size; i++, b >>= 8n) bytes.unshift(Number(b & 0xffn));
    this.out.push(...bytes);
  }

  private length(kind: LengthHeader["kind"], n: number, fix: { marker: number; max: number } | undefined, m8: number | undefined, m16: number, m32: number): void {
    const w = this.width();
    if (fix !== undefined && w === 0 && n <= fix.max) {
      this.headers.push({ at: this.out.length, size: 0, kind, fixMax: fix.max });
      this.out.push(fix.marker | n);
      return;
    }
    const [marker, size] = m8 !== undefined && w <= 1 && n <= 0xff ? [m8, 1 as const] : w <= 2 && n <= 0xffff ? [m16, 2 as const] : [m32, 4 as const];
    this.out.push(marker);
    this.headers.push({ at: this.out.length, size, kind });
    this.uint(n, size);
  }

  private utf8(s: string): Uint8Array {
    if (!this.wtf8) return Buffer.from(s, "utf8");
    // Lone surrogates as their 3-byte forms (what a lenient encoder in another language emits).
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.codePointAt(i)!;
      if (c > 0xffff) i++;
      out.push(...(c >= 0xd800 && c <= 0xdfff ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)] : Buffer.from(String.fromCodePoint(c), "utf8")));
    }
    return Uint8Array.from(out);
  }

  private number(n: number): void {
    const w = this.width();
    if (Number.isSafeInteger(n) && !Object.is(n, -0)) {
      if (n >= 0 && n <= 0x7f && w === 0) return void this.out.push(n);
      if (n < 0 && n >= -32 && w === 0) return void this.out.push(n & 0xff);
      if (n >= 0) {
        const [m, size] = n <= 0xff ? [0xcc, 1] : n <= 0xffff ? [0xcd, 2] : n <= 0xffffffff ? [0xce, 4] : [0xcf, 8];
        this.out.push(m);
        return this.uint(n, size);
      }
      const [m, size] = n >= -0x80 ? [0xd0, 1] : n >= -0x8000 ? [0xd1, 2] : n >= -0x80000000 ? [0xd2, 4] : [0xd3, 8];
      this.out.push(m);
      return this.uint(BigInt.asUintN(size * 8, BigInt(n)), size);
    }
    const buf = Buffer.alloc(w === 3 ? 4 : 8);
    if (w === 3) buf.writeFloatBE(n);
    else buf.writeDoubleBE(n);
    this.out.push(w === 3 ? 0xca : 0xcb, ...buf);
  }

  private value(v: V): void {
    if (v === null) this.out.push(0xc0);
    else if (typeof v === "boolean") this.out.push(v ? 0xc3 : 0xc2);
    else if (typeof v === "number") this.number(v);
    else if (v instanceof Num) this.number(Number(v.text));
    else if (typeof v === "string") {
      const b = this.utf8(v);
      this.length("str", b.length, { marker: 0xa0, max: 31 }, 0xd9, 0xda, 0xdb);
      for (const x of b) this.out.push(x);
    } else if (v instanceof Uint8Array) {
      this.length("bin", v.length, undefined, 0xc4, 0xc5, 0xc6);
      for (const x of v) this.out.push(x);
    } else if (v instanceof Ext) {
      const fixed = [1, 2, 4, 8, 16].indexOf(v.data.length);
      if (fixed >= 0 && this.width() === 0) this.out.push(0xd4 + fixed);
      else this.length("ext", v.data.length, undefined, 0xc7, 0xc8, 0xc9);
      this.out.push(v.type & 0xff, ...v.data);
    } else if (Array.isArray(v)) {
      this.length("array", v.length, { marker: 0x90, max: 15 }, undefined, 0xdc, 0xdd);
      for (const x of v) this.value(x);
    } else {
      this.length("map", v.entries.length, { marker: 0x80, max: 15 }, undefined, 0xde, 0xdf);
      for (const [k, x] of v.entries) {
        this.value(k);
        this.value(x);
      }
    }
  }
}

function jsonText(v: V): string {
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return JSON.stringify(v) ?? "null";
  if (v instanceof Num) return v.text;
  if (v instanceof Ext) return "null";
  if (v instanceof Uint8Array) return `[${v.join(",")}]`;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(",")}]`;
  return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(",")}}`;
}

const te = new TextEncoder();
const encodeAs = (v: V, fmt: Fmt, widths?: readonly number[], wtf8?: boolean): Uint8Array =>
  fmt === "json" ? te.encode(jsonText(v)) : MsgpackWriter.encode(v, widths, wtf8).bytes;

// ---- the system under test, and what every answer must look like ------------------------------

const stats = { inputs: 0, decoded: 0, requests: 0, rpcs: 0, refused: 0 };
const codecs = new Map<DecodeLimits, MsgpackCodec>();
const codecFor = (limits: DecodeLimits) => codecs.get(limits) ?? codecs.set(limits, new MsgpackCodec(limits)).get(limits)!;

function assertBadRequest(err: unknown, what: string): void {
  if (!(err instanceof ShoalError) || !ShoalError.is(err, ErrorCode.BAD_REQUEST) || err.message.length === 0) {
    const shown = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new Error(`${what} threw ${shown} — expected a BAD_REQUEST`, { cause: err });
  }
  stats.refused++;
}

interface Outcome {
  decoded: boolean;
  value?: unknown;
  request: boolean;
  rpc: boolean;
}

/** Decodes, then parses as an ingress request and as a node request; checks every answer. */
function feed(bytes: Uint8Array, fmt: Fmt, limits: DecodeLimits = defaultDecodeLimits): Outcome {
  stats.inputs++;
  let value: unknown;
  try {
    value = fmt === "json" ? decodeJson(bytes, limits) : codecFor(limits).decode(bytes);
  } catch (err) {
    assertBadRequest(err, `${fmt} decode`);
    return { decoded: false, request: false, rpc: false };
  }
  stats.decoded++;
  assertWithinLimits(value, limits);
  const request = attempt("parseRequest", () => parseRequest(value), assertRequest);
  const rpc = attempt("parseRpc", () => parseRpc(value), assertRpc);
  if (request) stats.requests++;
  if (rpc) stats.rpcs++;
  return { decoded: true, value, request, rpc };
}

function attempt<T>(what: string, parse: () => T, check: (t: T) => void): boolean {
  let parsed: T;
  try {
    parsed = parse();
  } catch (err) {
    assertBadRequest(err, what);
    return false;
  }
  check(parsed);
  return true;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const safeInt = (v: unknown, min = 0): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= min;
const validType = (t: unknown): boolean => typeof t === "string" && ACTOR_TYPE_PATTERN.test(t);
const validId = (id: unknown): boolean =>
  typeof id === "string" && id.length > 0 && Buffer.byteLength(id, "utf8") <= MAX_ACTOR_ID_BYTES && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(id);
const validTimeout = (t: unknown): boolean => safeInt(t, 1) && (t as number) <= MAX_TIMEOUT_MS;

/** Cheaper than expect() in the hot path: tens of thousands of inputs pass through here. */
function check(ok: boolean, what: string, value?: unknown): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(value, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x))?.slice(0, 300)}`);
}

/** What a decoder hands on is inside the limits: sizes, depth, keys, no Maps. */
function assertWithinLimits(root: unknown, limits: DecodeLimits): void {
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === "string") return check(v.length <= limits.maxStringLength, "string past the limit");
    if (v instanceof Uint8Array) return check(v.length <= limits.maxBinaryLength, "binary past the limit");
    if (typeof v !== "object" || v === null) return;
    check(depth < limits.maxDepth && !(v instanceof Map), "container too deep, or a Map", root);
    if (Array.isArray(v)) {
      check(v.length <= limits.maxArrayLength, "array past the limit");
      return v.forEach((x) => walk(x, depth + 1));
    }
    const keys = Object.keys(v);
    check(keys.length <= limits.maxMapLength, "map past the limit");
    for (const k of keys) {
      check(!forbiddenKeys.has(k), `forbidden key ${k} got through`, root);
      walk((v as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(root, 0);
}

function assertRequest(r: ReturnType<typeof parseRequest>): void {
  check(Object.keys(r).every((k) => ["type", "id", "msg", "timeoutMs"].includes(k)), "request with extra fields", r);
  check(validType(r.type) && validId(r.id) && r.msg !== undefined && (r.timeoutMs === undefined || validTimeout(r.timeoutMs)), "malformed request accepted", r);
}

function assertRpc(r: ReturnType<typeof parseRpc>): void {
  check(expectRpc(r), "malformed node request accepted", r);
}

// ---- oracles: the answer expected for a structured value --------------------------------------

/** Would this value pass the decode limits (in this format)? Mirrors DecodeLimits' documentation. */
function expectDecodes(root: V, fmt: Fmt, size: number, L: DecodeLimits): boolean {
  const strLen = (s: string) => (fmt === "msgpack" ? Buffer.byteLength(s, "utf8") : s.length);
  const walk = (v: V, depth: number): boolean => {
    if (typeof v === "string") return strLen(v) <= L.maxStringLength;
    if (v === null || typeof v !== "object" || v instanceof Num) return true;
    if (v instanceof Ext) return fmt === "json" || (v.data.length <= L.maxBinaryLength && depth < L.maxDepth);
    if (v instanceof Uint8Array) return fmt === "msgpack" ? v.length <= L.maxBinaryLength : depth < L.maxDepth && v.length <= L.maxArrayLength;
    if (depth >= L.maxDepth) return false;
    if (Array.isArray(v)) return v.length <= L.maxArrayLength && v.every((x) => walk(x, depth + 1));
    return v.entries.length <= L.maxMapLength && v.entries.every(([k, x]) => !forbiddenKeys.has(k) && strLen(k) <= L.maxStringLength && walk(x, depth + 1));
  };
  return size <= L.maxBytes && walk(root, 0);
}

function expectRequest(v: unknown): boolean {
  if (!isRecord(v) || !Object.keys(v).every((k) => ["type", "id", "msg", "timeoutMs"].includes(k))) return false;
  return validType(v.type) && validId(v.id) && "msg" in v && v.msg !== undefined && (v.timeoutMs === undefined || validTimeout(v.timeoutMs));
}

function expectRpc(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const only = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));
  switch (v.k) {
    case "ask":
      return (
        only(v, ["k", "type", "id", "msg", "timeoutMs", "mapVersion", "hops", "tail"]) &&
        validType(v.type) && validId(v.id) && "msg" in v && validTimeout(v.timeoutMs) && safeInt(v.mapVersion) && safeInt(v.hops) && (v.tail === undefined || safeInt(v.tail))
      );
    case "handoff":
      return (
        only(v, ["k", "shard", "mapVersion", "epoch", "from", "actors"]) &&
        safeInt(v.shard) && safeInt(v.mapVersion) && safeInt(v.epoch) && typeof v.from === "string" && Array.isArray(v.actors) &&
        v.actors.every((a: unknown) => isRecord(a) && !Array.isArray(a) && only(a, ["type", "id", "version", "state"]) && validType(a.type) && validId(a.id) && safeInt(a.version) && "state" in a)
      );
    case "tail-end":
      return only(v, ["k", "shard", "mapVersion", "from", "count"]) && safeInt(v.shard) && safeInt(v.mapVersion) && typeof v.from === "string" && safeInt(v.count);
    default:
      return false;
  }
}

// ---- generators -------------------------------------------------------------------------------

const protoKeys = ["__proto__", "constructor", "prototype"] as const;
const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(...protoKeys, "toString", "hasOwnProperty", "__defineGetter__", "valueOf", "") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 30, maxLength: 45 }) },
);
const numTokens = ["1e400", "-1e400", "-0", "1.5", "1e-400", "9007199254740993", "1E2", "0.0", "-1", "1e3", "4294967296"];
const scalarArb: fc.Arbitrary<V> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, Number.MAX_VALUE, Number.EPSILON, NaN, Infinity, -Infinity, -0),
  fc.constantFrom(...numTokens).map((t) => new Num(t)),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", minLength: 30, maxLength: 45 }),
  fc.uint8Array({ maxLength: 45 }),
  fc.tuple(fc.integer({ min: 0, max: 127 }), fc.uint8Array({ maxLength: 20 })).map(([t, d]) => new Ext(t, d)),
);
/** Arbitrary values (objects may hold prototype keys), containers of up to `maxLength` entries. */
const valuesUpTo = (maxLength: number): fc.Arbitrary<V> =>
  fc.letrec<{ value: V; array: V[]; object: Obj }>((tie) => ({
    value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalarArb, tie("array"), tie("object")),
    array: fc.array(tie("value"), { maxLength }),
    object: fc.uniqueArray(fc.tuple(keyArb, tie("value")), { selector: (e) => e[0], maxLength }).map((e) => new Obj(e)),
  })).value;
/** Sizes around the small limits below. */
const valueArb = valuesUpTo(14);
/** Small values for the fields of envelopes (cheap to generate and to decode). */
const smallValueArb = valuesUpTo(3);
/** Values every decoder accepts under the default limits: no prototype keys, shallow. */
const cleanValueArb: fc.Arbitrary<V> = fc.jsonValue({ maxDepth: 4 }).map(function toV(j: unknown): V {
  if (Array.isArray(j)) return j.map(toV);
  if (typeof j === "object" && j !== null) return new Obj(Object.entries(j).filter(([k]) => !forbiddenKeys.has(k)).map(([k, x]) => [k, toV(x)] as const));
  return j as V;
});
/** A value wrapped `n` levels deep in arrays and/or objects (nesting near and past maxDepth). */
const nestedArb: fc.Arbitrary<V> = fc
  .tuple(fc.integer({ min: 0, max: 40 }), smallValueArb, fc.array(fc.constantFrom("array", "object", "proto"), { minLength: 1, maxLength: 4 }))
  .map(([n, inner, shapes]) => {
    let v = inner;
    for (let i = 0; i < n; i++) {
      const shape = shapes[i % shapes.length];
      v = shape === "array" ? [v] : new Obj([[shape === "proto" && i === n - 1 ? "__proto__" : "a", v]]);
    }
    return v;
  });
const anyValue = fc.oneof({ weight: 4, arbitrary: valueArb }, { weight: 1, arbitrary: nestedArb });
const fieldValue = fc.oneof({ weight: 4, arbitrary: smallValueArb }, { weight: 1, arbitrary: nestedArb });

/** Wrong types for any field: scalars of every kind, small containers, prototype keys. */
const junk: fc.Arbitrary<V> = fc.oneof({ weight: 3, arbitrary: scalarArb }, { weight: 1, arbitrary: smallValueArb });
/** Integers fields: valid, and negative/NaN/Infinity/float/unsafe/strings. */
const intField = (max: number): fc.Arbitrary<V> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max }) },
    { weight: 2, arbitrary: fc.constantFrom(-1, 0, 1, max, max + 1, 0.5, 1.5, -0, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 - 1, -(2 ** 53)) },
    { weight: 1, arbitrary: fc.constantFrom(...numTokens).map((t) => new Num(t)) },
    { weight: 1, arbitrary: fc.constantFrom<V>("5", null, true, [], new Obj([]), new Uint8Array(1)) },
  );
const optional = <T extends V>(a: fc.Arbitrary<T>): fc.Arbitrary<Field> => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: fc.constant(ABSENT) });

const hostileIds = [
  "", ".", "*", ">", "a.b", "a.*.>", " ", "a b", "\t", "\n", "\0", "a\0b", "\u2028", "\uFEFF", "__proto__", "constructor",
  "x".repeat(MAX_ACTOR_ID_BYTES), "x".repeat(MAX_ACTOR_ID_BYTES + 1), "é".repeat(256), "é".repeat(257), "🐟".repeat(128), "🐟".repeat(129),
  "x".repeat(MAX_ACTOR_ID_BYTES - 1) + "é", "\uD800", "a\uDC00", "\uDC00\uD800", "\uD83D\uDC1F", "x".repeat(5000),
];
const idArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...hostileIds),
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(".", "*", ">", " ", "\0", "a", "é", "🐟", "\uD800", "\uDC00"), maxLength: 20 }),
  fc.string({ unit: fc.constantFrom("x", "é", "🐟"), minLength: 120, maxLength: 520 }),
);
const validIdArb = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).filter(validId);
const typeArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("account", "sequencer") },
  { weight: 2, arbitrary: fc.constantFrom("", "Account", "acc.ount", "a".repeat(64), "a".repeat(65), "1abc", "a b", "*", ">", "__proto__", "bank", "account\0", "_x", "x-y_z") },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,66}$/) },
  { weight: 1, arbitrary: junk },
);
const accountMsg: fc.Arbitrary<V> = fc.oneof(
  fc.record({ kind: fc.constantFrom("deposit", "withdraw", "Deposit", "__proto__"), amount: intField(1e12), txn: fc.oneof(fc.string({ maxLength: 130 }), junk) }).map(
    ({ kind, amount, txn }) => new Obj([[kind, new Obj([["amount", amount], ["txn", txn]])]]),
  ),
  fc.constantFrom<V>(new Obj([["balance", new Obj([])]]), new Obj([["balance", new Obj([["x", 1]])]]), new Obj([["balance", null]])),
);
const sequencerMsg: fc.Arbitrary<V> = fc.oneof(
  fc.record({ sender: fc.oneof(fc.string({ maxLength: 70 }), junk), seq: intField(1e6) }).map(({ sender, seq }) => new Obj([["sender", sender], ["seq", seq]])),
  fc.constant<V>(new Obj([["report", new Obj([])]])),
);
const msgArb = fc.oneof(accountMsg, sequencerMsg, fieldValue);
const cleanAccountMsg: fc.Arbitrary<V> = fc.oneof(
  fc.record({ kind: fc.constantFrom("deposit", "withdraw"), amount: fc.integer({ min: 1, max: 1e12 }), txn: fc.string({ minLength: 1, maxLength: 128 }) }).map(
    ({ kind, amount, txn }) => new Obj([[kind, new Obj([["amount", amount], ["txn", txn]])]]),
  ),
  fc.constant<V>(new Obj([["balance", new Obj([])]])),
);
const cleanMsgArb = fc.oneof(cleanAccountMsg, fc.constant<V>(new Obj([["sender", "s"], ["seq", 1]])), cleanValueArb);
const extraArb = fc.array(fc.tuple(fc.oneof(keyArb, fc.constantFrom("k", "type", "extra", "tail")), fieldValue), { maxLength: 2 });

/** Ingress requests, each field valid or hostile. */
const requestArb: fc.Arbitrary<V> = fc
  .record({ type: optional(typeArb), id: optional(fc.oneof({ weight: 3, arbitrary: idArb }, { weight: 1, arbitrary: junk })), msg: optional(msgArb), timeoutMs: fc.oneof(fc.constant(ABSENT), intField(MAX_TIMEOUT_MS)), extra: fc.option(extraArb) })
  .map(({ extra, ...f }) => obj(f, extra ?? []));

const kindArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("ask", "handoff", "tail-end") },
  { weight: 1, arbitrary: fc.constantFrom("", "Ask", "ask ", "handoff\0", "tail_end", "__proto__", "status", "rpc") },
  { weight: 1, arbitrary: junk },
);
const handoffActorArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: optional(typeArb), id: optional(idArb), version: optional(intField(1000)), state: optional(fieldValue) }).map((f) => obj(f)) },
  { weight: 1, arbitrary: junk },
);
/** Node requests of every kind, each field valid or hostile. */
const rpcArb: fc.Arbitrary<V> = fc
  .record({
    k: optional(kindArb),
    type: optional(typeArb),
    id: optional(idArb),
    msg: optional(msgArb),
    timeoutMs: optional(intField(MAX_TIMEOUT_MS)),
    mapVersion: optional(intField(100)),
    hops: optional(intField(5)),
    tail: fc.oneof(fc.constant(ABSENT), intField(1023)),
    shard: optional(intField(1023)),
    epoch: optional(intField(100)),
    from: optional(fc.oneof(fc.constantFrom("n1", "", "x".repeat(600), "a.b"), junk)),
    actors: optional(fc.oneof({ weight: 4, arbitrary: fc.array(handoffActorArb, { maxLength: 4 }) }, { weight: 1, arbitrary: junk })),
    count: optional(intField(100)),
    extra: fc.option(extraArb),
  })
  .map(({ extra, ...f }) => obj(f, extra ?? []));

/** Envelopes that parse: the starting points of the mutations. */
const validRequestArb: fc.Arbitrary<V> = fc
  .record({
    type: fc.constantFrom("account", "sequencer", "Thing_1"),
    id: validIdArb,
    msg: cleanMsgArb,
    timeoutMs: fc.oneof(fc.constant(ABSENT), fc.integer({ min: 1, max: MAX_TIMEOUT_MS })),
  })
  .map((f) => obj(f));
const validRpcArb: fc.Arbitrary<V> = fc.oneof(
  fc
    .record({ type: fc.constantFrom("account", "sequencer"), id: validIdArb, msg: cleanMsgArb, timeoutMs: fc.integer({ min: 1, max: MAX_TIMEOUT_MS }), mapVersion: fc.nat(50), hops: fc.nat(4), tail: fc.oneof(fc.constant(ABSENT), fc.nat(1023)) })
    .map((f) => obj({ k: "ask", ...f })),
  fc
    .record({ shard: fc.nat(1023), mapVersion: fc.nat(50), epoch: fc.nat(9), from: fc.string({ maxLength: 10 }), actors: fc.array(fc.record({ type: fc.constantFrom("account", "sequencer"), id: validIdArb, version: fc.nat(99), state: cleanValueArb }).map((f) => obj(f)), { maxLength: 4 }) })
    .map((f) => obj({ k: "handoff", ...f })),
  fc.record({ shard: fc.nat(1023), mapVersion: fc.nat(50), from: fc.string({ maxLength: 10 }), count: fc.nat(9) }).map((f) => obj({ k: "tail-end", ...f })),
);

/** Header widths to encode with (0: smallest incl. fix formats, 1: 8-bit, 2: 16-bit, 3: 32-bit). */
const widthsArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 });

const markers = [0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xff];
type ByteMutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; n: number }
  | { op: "marker"; at: number; byte: number }
  | { op: "duplicate"; at: number; n: number; to: number }
  | { op: "append"; bytes: Uint8Array };
const byteMutation = (alphabet: fc.Arbitrary<number>): fc.Arbitrary<ByteMutation> =>
  fc.oneof(
    fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(alphabet, { minLength: 1, maxLength: 6 }).map((a) => Uint8Array.from(a)) }),
    fc.record({ op: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ op: fc.constant("marker" as const), at: fc.nat(), byte: alphabet }),
    fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }), to: fc.nat() }),
    fc.record({ op: fc.constant("append" as const), bytes: fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => Uint8Array.from(a)) }),
  );

function mutate(input: Uint8Array, m: ByteMutation): Uint8Array {
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

type Inflation = "plus1" | "plus7" | "max" | "limit" | "limitPlus1" | "zero" | "minus1";
/** Rewrites one length header of an encoding (the count of a str/bin/array/map/ext). */
function inflate(bytes: Uint8Array, h: LengthHeader, how: Inflation, L: DecodeLimits): Uint8Array {
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

// ---- the properties ---------------------------------------------------------------------------

/** Small limits, so sizes near and past every limit are cheap to generate. */
const small: DecodeLimits = Object.freeze({ maxBytes: 3000, maxStringLength: 40, maxBinaryLength: 40, maxArrayLength: 12, maxMapLength: 12, maxDepth: 6 });
const started = performance.now();
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

afterAll(() => {
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `fuzz-decoders: ${stats.inputs} generated inputs in ${s} s — ${stats.decoded} decoded, ${stats.requests} valid requests, ${stats.rpcs} valid node requests, ${stats.refused} BAD_REQUEST refusals`,
  );
});

describe("decoders under hostile input: BAD_REQUEST or a well-formed value, nothing else", { timeout: 30_000 }, () => {
  it("random bytes, MessagePack-biased bytes and JSON token soup", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        feed(bytes, "msgpack");
        feed(bytes, "json");
      }),
      { numRuns: 6000 },
    );
    const biased = fc.array(fc.oneof(fc.constantFrom(...markers), fc.integer({ min: 0, max: 255 })), { maxLength: 80 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(biased, (bytes) => {
        feed(bytes, "msgpack");
        feed(bytes, "msgpack", small);
      }),
      { numRuns: 4000 },
    );
    const tokens = ["{", "}", "[", "]", '"', ":", ",", '"type"', '"id"', '"msg"', '"k"', '"ask"', '"account"', '"timeoutMs"', "1", "-", "e", ".", "null", "true", '"__proto__"', " ", "\\u0000", "\\ud800", '"x"', "\\", "1e999"];
    const soup = fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((a) => te.encode(a.join("")));
    fc.assert(
      fc.property(soup, (bytes) => {
        feed(bytes, "json");
        feed(bytes, "json", small);
      }),
      { numRuns: 3000 },
    );
  });

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

  it("hostile ingress requests: accepted exactly when every field is valid", () => {
    fc.assert(
      fc.property(requestArb, widthsArb, fc.boolean(), (v, widths, wtf8) => {
        for (const fmt of ["msgpack", "json"] as const) {
          const out = feed(encodeAs(v, fmt, widths, wtf8), fmt);
          if (out.decoded) expect(out.request, jsonText(v).slice(0, 300)).toBe(expectRequest(out.value));
        }
      }),
      { numRuns: 5000 },
    );
  });

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

  it("mutated valid MessagePack envelopes: bit flips, truncation, splicing, inflated length headers", () => {
    const inflation = fc.record({ which: fc.nat(), how: fc.constantFrom<Inflation>("plus1", "plus7", "max", "limit", "limitPlus1", "zero", "minus1") });
    fc.assert(
      fc.property(
        fc.oneof(validRequestArb, validRpcArb),
        validRpcArb,
        widthsArb,
        fc.array(inflation, { maxLength: 2 }),
        fc.array(byteMutation(fc.oneof(fc.constantFrom(...markers), fc.integer({ min: 0, max: 255 }))), { maxLength: 3 }),
        fc.option(fc.tuple(fc.nat(), fc.nat())),
        (v, other, widths, inflations, mutations, splice) => {
          const enc = MsgpackWriter.encode(v, widths);
          const valid = feed(enc.bytes, "msgpack");
          expect(valid.request || valid.rpc).toBe(true);
          let bytes = enc.bytes;
          for (const { which, how } of inflations) {
            if (enc.headers.length > 0) bytes = inflate(bytes, enc.headers[which % enc.headers.length]!, how, defaultDecodeLimits);
          }
          if (splice !== null) {
            const o = MsgpackWriter.encode(other).bytes;
            bytes = Uint8Array.from([...bytes.subarray(0, splice[0] % (bytes.length + 1)), ...o.subarray(splice[1] % (o.length + 1))]);
          }
          for (const m of mutations) bytes = mutate(bytes, m);
          feed(bytes, "msgpack");
          feed(bytes, "msgpack", small);
        },
      ),
      { numRuns: 7000 },
    );
  });

  it("mutated valid JSON envelopes", () => {
    const jsonBytes = fc.oneof(fc.constantFrom(...'{}[]":,\\-.0123456789eEntfu \x00'.split("").map((c) => c.charCodeAt(0))), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.oneof(validRequestArb, validRpcArb), fc.array(byteMutation(jsonBytes), { minLength: 1, maxLength: 3 }), (v, mutations) => {
        let bytes = encodeAs(v, "json");
        expect(feed(bytes, "json").decoded).toBe(true);
        for (const m of mutations) bytes = mutate(bytes, m);
        feed(bytes, "json");
      }),
      { numRuns: 5000 },
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
      ["json over maxBytes", te.encode(" ".repeat(L.maxBytes) + "1")],
      ["100k nested msgpack arrays", new Uint8Array(100_000).fill(0x91)],
      ["100k nested msgpack maps", Uint8Array.from({ length: 100_000 }, (_, i) => (i % 2 === 0 ? 0x81 : 0xa0))],
      ["100k nested JSON arrays", te.encode("[".repeat(100_000) + "]".repeat(100_000))],
      ["100k nested JSON objects", te.encode('{"a":'.repeat(100_000) + "1" + "}".repeat(100_000))],
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

  it("refuses a node request whose kind cannot be turned into a string (regression)", () => {
    // {"k": {"toString": ""}} once made parseRpc throw a TypeError (String() on it), which the
    // node answered as INTERNAL.
    for (const k of [{ toString: "" }, [{ toString: 1 }], { valueOf: 1, toString: 2 }, Object.create(null) as unknown]) {
      expect(() => parseRpc({ k })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    }
    expect(feed(te.encode('{"k":{"toString":""}}'), "json").decoded).toBe(true);
  });

  it("ran at least 50,000 generated inputs", () => {
    expect(stats.inputs).toBeGreaterThanOrEqual(50_000);
  });

  it("left no trace on Object.prototype", () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});
