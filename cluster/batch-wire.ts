import { type ResponseEnvelope, parseResponse } from "../src/codec/envelope.js";
import { BadRequestError, errorToWire, ShoalError, type WireError } from "../src/errors.js";
import { FLAT_ASK_LENGTH, FLAT_ASK_LENGTHS, FLAT_MODE, flattenAsk, modeOf, parseFlatAsk, parseRpc, type RpcRequest } from "./wire.js";

/**
 * Batches between nodes. A node sends its peer one NATS message per batch on the peer's rpc
 * subject, MessagePack, with a reply subject of its own:
 *
 *     [[corr, request], [corr, ...flatAsk], …]
 *
 * an entry is `[corr, request]` (any node request as an object, `wire.ts`) or, for an ask,
 * `[corr, type, id, msg, timeoutMs, mapVersion, hops, tail | null, mode]`, plus `sender, seq`
 * when the client gave them (the flat form senders use; `mode` 0 ask, 1 send, 2 tell). The peer answers on the reply subject with as
 * many reply batches as it likes, each holding the replies that were ready together:
 *
 *     [[corr, reply], [corr, null, {code, message}], [0, failed], …]
 *
 * or, when it could not read the batch at all, with one response envelope `{ok: false, error}`
 * that answers every request in it. `corr` is the sender's positive integer for the request;
 * requests are handled in the order they stand.
 *
 * Tells are the exception: their `corr` is 0 and they get no entry of their own. Once the turn
 * of every tell in the batch is done (or has failed), one tell acknowledgement `[0, failed]`
 * answers them all, `failed` being how many of them failed. A batch without tells gets none.
 */
/** A request as it stands in a batch. */
export function requestEntry(corr: number, req: RpcRequest): unknown[] {
  return req.k === "ask" ? flattenAsk(req, corr) : [corr, req];
}

/** A reply entry for a success. */
export function okEntry(corr: number, reply: unknown): [number, unknown] {
  return [corr, reply];
}

/** The acknowledgement of every tell of a batch, `failed` of which failed. */
export function tellsEntry(failed: number): [0, number] {
  return [0, failed];
}

/** A reply entry for an error. */
export function errorEntry(corr: number, err: unknown): [number, null, WireError] {
  return [corr, null, errorToWire(err)];
}

/** A request of a batch, or why it cannot be handled (answered to its `corr`). */
export type ParsedItem = { corr: number; req: RpcRequest } | { corr: number; error: ShoalError };

const isCorr = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/** The lengths of a flat entry (corr and a flat ask, with or without sender and seq, with or without from). */
const isFlatLength = (n: number): boolean => FLAT_ASK_LENGTHS.has(n - 1);

/** A flat entry that says it is a tell (its mode is 2): the only kind that may have corr 0. */
const isTellEntry = (item: unknown[]): boolean => isFlatLength(item.length) && item[FLAT_ASK_LENGTH] === FLAT_MODE.tell;

/**
 * Checks a decoded request batch. A batch that is not a non-empty array of entries (`[corr,
 * request]` or a flat ask) with distinct `corr`s — 0 for tells, positive for everything else —
 * throws BAD_REQUEST (answered to the whole batch, nothing in it handled); an entry whose
 * request is malformed is answered alone (a tell: counted as failed in the acknowledgement).
 */
export function parseRequestBatch(value: unknown): ParsedItem[] {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequestError("malformed node batch: not a non-empty array");
  const out: ParsedItem[] = [];
  const seen = new Set<number>();
  for (const item of value) {
    const tell = Array.isArray(item) && item[0] === 0;
    if (!Array.isArray(item) || (item.length !== 2 && !isFlatLength(item.length)) || (tell ? !isTellEntry(item) : !isCorr(item[0]) || seen.has(item[0]))) {
      // Nothing of the batch is handled: parsing only builds `out`, which is dropped here.
      throw new BadRequestError(
        "malformed node batch: every entry must be [corr, request] or a flat ask, with a distinct positive integer corr (0 for a tell)",
      );
    }
    const corr = item[0] as number;
    if (!tell) seen.add(corr);
    try {
      const req = item.length === 2 ? parseRpc(item[1]) : parseFlatAsk(item, 1);
      if (!tell && req.k === "ask" && modeOf(req) === "tell") throw new BadRequestError("malformed node request: a tell has corr 0");
      out.push({ corr, req });
    } catch (err) {
      out.push({ corr, error: ShoalError.is(err) ? err : new BadRequestError(String(err)) });
    }
  }
  return out;
}

/** Where the answers of a reply batch go, one call each. */
export interface ReplySink {
  ok(corr: number, reply: unknown): void;
  error(corr: number, error: WireError): void;
  /** The tell acknowledgement of request batch `batch`: its tells are done, `failed` of them failed. */
  told(batch: number, failed: number): void;
}

/**
 * Reads a decoded reply batch to request batch `batch` into `sink`, entry by entry, without
 * building anything per entry; malformed entries are skipped (their requests time out like lost
 * ones). Returns the whole-batch answer when the batch is one envelope instead (throws
 * BAD_REQUEST if it is not even that).
 */
export function readReplyBatch(value: unknown, sink: ReplySink, batch: number): ResponseEnvelope | undefined {
  if (!Array.isArray(value)) return parseResponse(value);
  for (const item of value) {
    if (!Array.isArray(item)) continue;
    if (item[0] === 0 && item.length === 2 && Number.isSafeInteger(item[1]) && (item[1] as number) >= 0) sink.told(batch, item[1] as number);
    if (!isCorr(item[0])) continue;
    if (item.length === 2) sink.ok(item[0], item[1]);
    else if (item.length === 3 && item[1] === null) {
      const e = item[2] as Partial<WireError> | null;
      if (typeof e === "object" && e !== null && typeof e.code === "string" && typeof e.message === "string") sink.error(item[0], e as WireError);
    }
  }
  return undefined;
}
