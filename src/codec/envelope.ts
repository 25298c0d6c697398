import { checkActorId, checkActorTypeName } from "../actor/names.js";
import { BadRequestError, type WireError, errorToWire } from "../errors.js";

/**
 * What a request wants back: the actor's reply (`ask`, the default), `null` once the turn has
 * been applied (`send`), or nothing at all (`tell`: fire-and-forget, also when published
 * without a reply subject).
 */
export type Verb = "ask" | "send" | "tell";

/**
 * The one envelope on the wire. A request names an actor and carries a message; a response is
 * `{ok: true, reply}` or `{ok: false, error: {code, message}}`. The ingress contract
 * (`shoal.<cluster>.ask`) is exactly this in JSON, or MessagePack with the header
 * `Content-Type: application/msgpack`.
 */
export interface RequestEnvelope {
  type: string;
  id: string;
  msg: unknown;
  /** Optional per-request deadline in ms (1 … {@link MAX_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Optional; `ask` when absent. */
  verb?: Verb;
  /**
   * Optional, with {@link RequestEnvelope.seq}: the caller's sender id (1–64 printable ASCII
   * characters, random per client). Messages of one sender to one actor are applied in `seq`
   * order, whichever nodes they reach.
   */
  sender?: string;
  /**
   * Optional, with {@link RequestEnvelope.sender}: this message's number among the sender's
   * messages to this actor, 1, 2, 3… (an integer from 1 to 2^53 − 1).
   */
  seq?: number;
  /**
   * Optional, with `sender` and `seq`: every message of this sender to this actor numbered up to
   * `settled` is settled — answered, or past its timeout — so none of them can still arrive. The
   * owner then waits for none of them (0 … seq − 1; 0 or absent: nothing known).
   */
  settled?: number;
}

/**
 * A message's place in its sender's order, as it travels inside the cluster: the ingress
 * contract's `sender`, `seq` and `settled` (0 when absent).
 */
export interface SenderSeq {
  readonly sender: string;
  readonly seq: number;
  readonly settled: number;
}

/** The order fields of a checked request as one value; undefined when it has none. */
export function orderOf(r: RequestEnvelope): SenderSeq | undefined {
  return r.sender === undefined || r.seq === undefined ? undefined : { sender: r.sender, seq: r.seq, settled: r.settled ?? 0 };
}

export type ResponseEnvelope = { ok: true; reply: unknown } | { ok: false; error: WireError };

export type Envelope = RequestEnvelope | ResponseEnvelope;

/** The `Content-Type` header of a MessagePack request or response on the ingress. */
export const MSGPACK_CONTENT_TYPE = "application/msgpack";

export const MAX_TIMEOUT_MS = 120_000;

/** Longest sender id (characters, all printable ASCII). */
export const MAX_SENDER_LENGTH = 64;

const requestFields = new Set(["type", "id", "msg", "timeoutMs", "verb", "sender", "seq", "settled"]);
const verbs = new Set<unknown>(["ask", "send", "tell"]);

/** Checks a decoded request: an object with a hosted-looking type, a valid id and a message. */
export function parseRequest(value: unknown): RequestEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BadRequestError('request must be an object {"type", "id", "msg"}');
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!requestFields.has(k)) throw new BadRequestError(`unexpected field ${JSON.stringify(k.slice(0, 50))} in request`);
  }
  const type = checkActorTypeName(v.type);
  const id = checkActorId(v.id);
  if (!("msg" in v) || v.msg === undefined) throw new BadRequestError('request has no "msg"', { details: { field: "msg" } });
  const req: RequestEnvelope = { type, id, msg: v.msg };
  if (v.timeoutMs !== undefined) {
    const t = v.timeoutMs;
    if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > MAX_TIMEOUT_MS) {
      throw new BadRequestError(`timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`, { details: { field: "timeoutMs" } });
    }
    req.timeoutMs = t;
  }
  if (v.verb !== undefined) {
    if (!verbs.has(v.verb)) throw new BadRequestError('verb must be "ask", "send" or "tell"', { details: { field: "verb" } });
    req.verb = v.verb as Verb;
  }
  if (v.sender !== undefined || v.seq !== undefined || v.settled !== undefined) {
    const order = checkOrder(v.sender, v.seq, v.settled);
    req.sender = order.sender;
    req.seq = order.seq;
    if (order.settled > 0) req.settled = order.settled;
  }
  return req;
}

/** Checks `sender`, `seq` and an optional `settled` (0 … seq − 1). Throws BAD_REQUEST. */
export function checkOrder(sender: unknown, seq: unknown, settled: unknown): SenderSeq {
  const s = checkSeq(seq);
  const done = settled === undefined ? 0 : settled; // null is not "absent": like every optional field, refused
  if (typeof done !== "number" || !Number.isSafeInteger(done) || done < 0 || done >= s) {
    throw new BadRequestError("settled must be an integer from 0 to seq - 1", { details: { field: "settled" } });
  }
  return { sender: checkSender(sender), seq: s, settled: done };
}

const printableAscii = /^[\x21-\x7e]+$/;

/** A sender id: 1–{@link MAX_SENDER_LENGTH} printable ASCII characters (no spaces). Throws BAD_REQUEST. */
export function checkSender(v: unknown): string {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_SENDER_LENGTH || !printableAscii.test(v)) {
    throw new BadRequestError(`sender must be 1 to ${MAX_SENDER_LENGTH} printable ASCII characters, given with seq`, { details: { field: "sender" } });
  }
  return v;
}

/** A sequence number: an integer from 1 to 2^53 − 1. Throws BAD_REQUEST. */
export function checkSeq(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    throw new BadRequestError("seq must be an integer from 1 to 2^53 - 1, given with sender", { details: { field: "seq" } });
  }
  return v;
}

export function okResponse(reply: unknown): ResponseEnvelope {
  return { ok: true, reply: reply === undefined ? null : reply };
}

export function errorResponse(err: unknown): ResponseEnvelope {
  return { ok: false, error: errorToWire(err) };
}

/** Checks a decoded response (what a client reads back). */
export function parseResponse(value: unknown): ResponseEnvelope {
  if (typeof value !== "object" || value === null) throw new BadRequestError("response must be an object");
  const v = value as Record<string, unknown>;
  if (v.ok === true) return { ok: true, reply: v.reply };
  if (v.ok === false && typeof v.error === "object" && v.error !== null) {
    const e = v.error as Record<string, unknown>;
    if (typeof e.code === "string" && typeof e.message === "string") return { ok: false, error: e as unknown as WireError };
  }
  throw new BadRequestError("malformed response envelope");
}
