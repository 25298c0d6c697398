/**
 * What every answer of the decoders must look like under hostile input, and the answer expected
 * for a structured value. `feed` runs one input through a decoder (JSON or MessagePack) and then
 * through both envelope parsers (ingress `parseRequest`, node `parseRpc`): each step either
 * yields a well-formed value or throws a BAD_REQUEST; anything else throws. `stats` counts what
 * the current test file fed.
 */
import { handedActor, parseRpc } from "../../cluster/wire.js";
import { ACTOR_TYPE_PATTERN, MAX_ACTOR_ID_BYTES } from "../../src/actor/names.js";
import { MAX_TIMEOUT_MS, parseRequest } from "../../src/codec/envelope.js";
import { decodeJson } from "../../src/codec/json.js";
import { type DecodeLimits, defaultDecodeLimits, forbiddenKeys } from "../../src/codec/limits.js";
import { MsgpackCodec } from "../../src/codec/msgpack.js";
import { ErrorCode, ShoalError } from "../../src/errors.js";
import { fromForm } from "../../src/runtime/outgoing.js";
import { Ext, type Fmt, Num, type V } from "./wire-values.js";

export const stats = { inputs: 0, decoded: 0, requests: 0, rpcs: 0, refused: 0 };
const codecs = new Map<DecodeLimits, MsgpackCodec>();
const codecFor = (limits: DecodeLimits) => codecs.get(limits) ?? codecs.set(limits, new MsgpackCodec(limits)).get(limits)!;

function assertBadRequest(err: unknown, what: string): void {
  if (!(err instanceof ShoalError) || !ShoalError.is(err, ErrorCode.BAD_REQUEST) || err.message.length === 0) {
    const shown = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new Error(`${what} threw ${shown} — expected a BAD_REQUEST`, { cause: err });
  }
  stats.refused++;
}

export interface Outcome {
  decoded: boolean;
  value?: unknown;
  request: boolean;
  rpc: boolean;
}

/** Decodes, then parses as an ingress request and as a node request; checks every answer. */
export function feed(bytes: Uint8Array, fmt: Fmt, limits: DecodeLimits = defaultDecodeLimits): Outcome {
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
export const validId = (id: unknown): boolean =>
  typeof id === "string" &&
  id.length > 0 &&
  Buffer.byteLength(id, "utf8") <= MAX_ACTOR_ID_BYTES &&
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(id);
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
      for (const x of v) walk(x, depth + 1);
      return;
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
  check(
    Object.keys(r).every((k) => ["type", "id", "msg", "timeoutMs", "verb", "sender", "seq", "settled"].includes(k)),
    "request with extra fields",
    r,
  );
  check(
    validType(r.type) &&
      validId(r.id) &&
      r.msg !== undefined &&
      (r.timeoutMs === undefined || validTimeout(r.timeoutMs)) &&
      validOrder(r.sender, r.seq, r.settled),
    "malformed request accepted",
    r,
  );
}

function assertRpc(r: ReturnType<typeof parseRpc>): void {
  // Back to the wire's forms: parsing turns `from` and a handed actor's `mail` into objects.
  let wire: unknown = r;
  if (r.k === "ask" && r.from !== undefined) wire = { ...r, from: fromForm(r.from) };
  if (r.k === "handoff") wire = { ...r, actors: r.actors.map(handedActor) };
  check(expectRpc(wire), "malformed node request accepted", r);
}

// ---- oracles: the answer expected for a structured value --------------------------------------

/** Would this value pass the decode limits (in this format)? Mirrors DecodeLimits' documentation. */
export function expectDecodes(root: V, fmt: Fmt, size: number, L: DecodeLimits): boolean {
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

export function expectRequest(v: unknown): boolean {
  if (!isRecord(v) || !Object.keys(v).every((k) => ["type", "id", "msg", "timeoutMs", "sender", "seq", "settled"].includes(k))) return false;
  return (
    validType(v.type) &&
    validId(v.id) &&
    "msg" in v &&
    v.msg !== undefined &&
    (v.timeoutMs === undefined || validTimeout(v.timeoutMs)) &&
    validOrder(v.sender, v.seq, v.settled)
  );
}

/** An ask's order in the object form: `{sender, seq, settled?}`, nothing else. */
function validAskOrder(o: unknown): boolean {
  if (!isRecord(o) || !Object.keys(o).every((k) => ["sender", "seq", "settled"].includes(k))) return false;
  return o.seq !== undefined && validOrder(o.sender, o.seq, o.settled);
}

/** An outgoing message's origin: `[type, id, v ≥ 0, i ≥ 0]`. */
function validOrigin(o: unknown): boolean {
  return Array.isArray(o) && o.length === 4 && validType(o[0]) && validId(o[1]) && safeInt(o[2]) && safeInt(o[3]);
}

/** A message between actors: `{o?: origin, c?: [[type, id], …] (1 to 16)}`, at least one of them. */
function validFrom(f: unknown): boolean {
  if (!isRecord(f) || Array.isArray(f) || !Object.keys(f).every((k) => k === "o" || k === "c") || (f.o === undefined && f.c === undefined)) return false;
  const chainOk =
    f.c === undefined ||
    (Array.isArray(f.c) && f.c.length >= 1 && f.c.length <= 16 && f.c.every((e) => Array.isArray(e) && e.length === 2 && validType(e[0]) && validId(e[1])));
  return chainOk && (f.o === undefined || validOrigin(f.o));
}

/**
 * A handed actor's mail: `{a ≥ 0, p?: [[type, id, msg, 0|1, v, i], …], s?: [origin, …]}`; a
 * pending entry may instead share an earlier entry's message: `[type, id, null, 0|1, v, i, j < its index]`.
 */
function validMail(m: unknown): boolean {
  if (!isRecord(m) || Array.isArray(m) || !Object.keys(m).every((k) => ["a", "p", "s"].includes(k)) || !safeInt(m.a)) return false;
  const pendingOk =
    m.p === undefined ||
    (Array.isArray(m.p) &&
      m.p.every(
        (e, k) =>
          Array.isArray(e) &&
          (e.length === 6 || (e.length === 7 && e[2] === null && safeInt(e[6]) && (e[6] as number) < k)) &&
          validType(e[0]) &&
          validId(e[1]) &&
          e[2] !== undefined &&
          (e[3] === 0 || e[3] === 1) &&
          safeInt(e[4]) &&
          safeInt(e[5]),
      ));
  return pendingOk && (m.s === undefined || (Array.isArray(m.s) && m.s.every(validOrigin)));
}

/** A handed-over order table: at most 4096 `[sender, next ≥ 1]`. */
function validOrderTable(t: unknown): boolean {
  return Array.isArray(t) && t.length <= 4096 && t.every((e) => Array.isArray(e) && e.length === 2 && validOrder(e[0], e[1], undefined));
}

/** Handed-over timers: at most 256 `{name (1–200 characters), in (0–2³¹−1), every? (1–2³¹−1), msg}`. */
function validTimers(t: unknown): boolean {
  const delay = (v: unknown, min: number) => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= 2 ** 31 - 1;
  return (
    Array.isArray(t) &&
    t.length <= 256 &&
    t.every(
      (e) =>
        isRecord(e) &&
        !Array.isArray(e) &&
        Object.keys(e).every((k) => ["name", "in", "every", "msg"].includes(k)) &&
        typeof e.name === "string" &&
        e.name.length >= 1 &&
        e.name.length <= 200 &&
        delay(e.in, 0) &&
        (e.every === undefined || delay(e.every, 1)) &&
        e.msg !== undefined,
    )
  );
}

/**
 * Per-sender order's fields: none, or a sender (1–64 printable ASCII characters) and a seq ≥ 1,
 * with an optional settled from 0 to seq − 1.
 */
export function validOrder(sender: unknown, seq: unknown, settled: unknown): boolean {
  if (sender === undefined && seq === undefined && settled === undefined) return true;
  const senderOk = typeof sender === "string" && sender.length >= 1 && sender.length <= 64 && /^[\x21-\x7e]+$/.test(sender);
  if (!senderOk || typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return false;
  return settled === undefined || (typeof settled === "number" && Number.isSafeInteger(settled) && settled >= 0 && settled < seq);
}

export function expectRpc(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const only = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));
  switch (v.k) {
    case "ask":
      return (
        only(v, ["k", "type", "id", "msg", "timeoutMs", "mapVersion", "hops", "tail", "order", "from"]) &&
        (v.order === undefined || validAskOrder(v.order)) &&
        (v.from === undefined || validFrom(v.from)) &&
        validType(v.type) &&
        validId(v.id) &&
        "msg" in v &&
        validTimeout(v.timeoutMs) &&
        safeInt(v.mapVersion) &&
        safeInt(v.hops) &&
        (v.tail === undefined || safeInt(v.tail))
      );
    case "handoff":
      return (
        only(v, ["k", "shard", "mapVersion", "epoch", "from", "actors"]) &&
        safeInt(v.shard) &&
        safeInt(v.mapVersion) &&
        safeInt(v.epoch) &&
        typeof v.from === "string" &&
        Array.isArray(v.actors) &&
        v.actors.every(
          (a: unknown) =>
            isRecord(a) &&
            !Array.isArray(a) &&
            only(a, ["type", "id", "version", "state", "order", "timers", "mail"]) &&
            (a.order === undefined || validOrderTable(a.order)) &&
            (a.mail === undefined || validMail(a.mail)) &&
            (a.timers === undefined || validTimers(a.timers)) &&
            validType(a.type) &&
            validId(a.id) &&
            safeInt(a.version) &&
            "state" in a,
        )
      );
    case "tail-end":
      return (
        only(v, ["k", "shard", "mapVersion", "from", "count"]) && safeInt(v.shard) && safeInt(v.mapVersion) && typeof v.from === "string" && safeInt(v.count)
      );
    default:
      return false;
  }
}

/** Small limits, so sizes near and past every limit are cheap to generate. */
export const small: DecodeLimits = Object.freeze({
  maxBytes: 3000,
  maxStringLength: 40,
  maxBinaryLength: 40,
  maxArrayLength: 12,
  maxMapLength: 12,
  maxDepth: 6,
});
