import { type ResponseEnvelope, parseResponse } from "../src/codec/envelope.js";
import type { MsgpackCodec } from "../src/codec/msgpack.js";
import { BadRequestError, errorToWire, ShoalError, type WireError } from "../src/errors.js";
import { FLAT_ASK_LENGTH, flattenAsk, parseFlatAsk, parseRpc, type RpcRequest } from "./wire.js";

/**
 * Batches between nodes. A node sends its peer one NATS message per batch on the peer's rpc
 * subject, MessagePack, with a reply subject of its own:
 *
 *     [[corr, request], [corr, ...flatAsk], …]
 *
 * an entry is `[corr, request]` (any node request as an object, `wire.ts`) or, for an ask,
 * `[corr, type, id, msg, timeoutMs, mapVersion, hops, tail | null, discard 0 | 1]` (the flat
 * form senders use). The peer answers on the reply subject with as many reply batches as it
 * likes, each holding the replies that were ready together:
 *
 *     [[corr, reply], [corr, null, {code, message}], …]
 *
 * or, when it could not read the batch at all, with one response envelope `{ok: false, error}`
 * that answers every request in it. `corr` is the sender's positive integer for the request;
 * requests are handled in the order they stand.
 */
export type ReplyItem = [corr: number, res: ResponseEnvelope];

/** A request as it stands in a batch. */
export function requestEntry(corr: number, req: RpcRequest): unknown[] {
  return req.k === "ask" ? [corr, ...flattenAsk(req)] : [corr, req];
}

/** A reply as it stands in a reply batch. */
export function replyEntry(corr: number, res: ResponseEnvelope): [number, unknown] | [number, null, WireError] {
  return res.ok ? [corr, res.reply] : [corr, null, res.error];
}

/** A reply entry for an error. */
export function errorEntry(corr: number, err: unknown): [number, null, WireError] {
  return [corr, null, errorToWire(err)];
}

/** A request of a batch, or why it cannot be handled (answered to its `corr`). */
export type ParsedItem = { corr: number; req: RpcRequest } | { corr: number; error: ShoalError };

const isCorr = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/**
 * Checks a decoded request batch. A batch that is not a non-empty array of entries (`[corr,
 * request]` or a flat ask) with distinct `corr`s throws BAD_REQUEST (answered to the whole
 * batch, nothing in it handled); an entry whose request is malformed is answered alone.
 */
export function parseRequestBatch(value: unknown): ParsedItem[] {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequestError("malformed node batch: not a non-empty array");
  const seen = new Set<number>();
  for (const item of value) {
    if (!Array.isArray(item) || (item.length !== 2 && item.length !== FLAT_ASK_LENGTH + 1) || !isCorr(item[0]) || seen.has(item[0])) {
      throw new BadRequestError("malformed node batch: every entry must be [corr, request] or a flat ask, with a distinct positive integer corr");
    }
    seen.add(item[0]);
  }
  const out: ParsedItem[] = [];
  for (const item of value as Array<[number, ...unknown[]]>) {
    const corr = item[0];
    try {
      out.push({ corr, req: item.length === 2 ? parseRpc(item[1]) : parseFlatAsk(item, 1) });
    } catch (err) {
      out.push({ corr, error: ShoalError.is(err) ? err : new BadRequestError(String(err)) });
    }
  }
  return out;
}

/** A reply batch: answers by `corr`, or one answer for the whole batch. */
export type ParsedReplies = { items: ReplyItem[] } | { all: ResponseEnvelope };

/** Checks a decoded reply batch; malformed entries are skipped (their requests time out). */
export function parseReplyBatch(value: unknown): ParsedReplies {
  if (!Array.isArray(value)) return { all: parseResponse(value) };
  const items: ReplyItem[] = [];
  for (const item of value) {
    if (!Array.isArray(item) || !isCorr(item[0])) continue;
    if (item.length === 2) items.push([item[0], { ok: true, reply: item[1] }]);
    else if (item.length === 3 && item[1] === null) {
      const e = item[2] as Partial<WireError> | null;
      // skipped otherwise: a request whose answer cannot be read times out like a lost one
      if (typeof e === "object" && e !== null && typeof e.code === "string" && typeof e.message === "string") items.push([item[0], { ok: false, error: e as WireError }]);
    }
  }
  return { items };
}

/**
 * Encodes `items` as one array, or as several when one would exceed `maxBytes` (halving until
 * each part fits). An item too big on its own goes to `tooBig` instead.
 */
export function encodeBounded<T>(
  codec: MsgpackCodec,
  items: T[],
  wire: (items: T[]) => unknown,
  maxBytes: number,
  tooBig: (item: T, bytes: number) => void,
): Array<{ items: T[]; bytes: Uint8Array }> {
  const bytes = codec.encode(wire(items));
  if (bytes.length <= maxBytes) return [{ items, bytes }];
  if (items.length === 1) {
    tooBig(items[0]!, bytes.length);
    return [];
  }
  const half = items.length >> 1;
  return [...encodeBounded(codec, items.slice(0, half), wire, maxBytes, tooBig), ...encodeBounded(codec, items.slice(half), wire, maxBytes, tooBig)];
}
