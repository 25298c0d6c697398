import type { Msg } from "@nats-io/transport-node";
import { afterJob } from "./after-job.js";
import { parseResponse, type ResponseEnvelope } from "./codec/envelope.js";
import { decodeJson } from "./codec/json.js";
import { BadRequestError, errorFromWire } from "./errors.js";

/** Most calls in one batch (the node takes up to 1024). */
export const MAX_BATCH_CALLS = 256;
/** A batch is sent once its requests reach this many bytes (or before a call would take it past), without waiting for the end of the job. */
export const BATCH_FLUSH_BYTES = 128 * 1024;

/** Sends one batch: `subject`, the JSON array, the transport timeout. Rejects as a request does. */
export type SendBatch = (subject: string, data: Uint8Array, timeout: number) => Promise<Msg>;

interface Entry {
  body: Uint8Array;
  ok: (res: ResponseEnvelope) => void;
  fail: (err: unknown) => void;
}

interface Pending {
  subject: string;
  timeout: number;
  entries: Entry[];
  bytes: number;
}

const OPEN = new Uint8Array([0x5b]); // [
const COMMA = new Uint8Array([0x2c]); // ,
const CLOSE = new Uint8Array([0x5d]); // ]

/**
 * Gathers the calls a client makes for one node (its `…asks` subject) in one job — a window of
 * asks sent in a loop, the replies of one batch resolving their callers' next calls — and sends
 * them as one request, a JSON array, instead of one request each: the client, the server and
 * the node then handle one message per batch rather than one per call. A call waits for nothing
 * but the end of its own job ({@link afterJob}); a lone call is a batch of one.
 *
 * Calls with different timeouts go in different batches (a batch's answer waits for its slowest
 * call). Each call settles with its own answer, or with the batch's failure: a transport error
 * (the caller decides whether to send it again: *no responders* means no node received it), or
 * the node's refusal of the whole batch.
 */
export class CallBatcher {
  private pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(private readonly send: SendBatch) {}

  /** Queues `body` (one JSON request) for `subject`; resolves to its answer. */
  call(subject: string, body: Uint8Array, timeout: number): Promise<ResponseEnvelope> {
    return new Promise((ok, fail) => {
      const key = `${timeout}\u0000${subject}`;
      let p = this.pending.get(key);
      if (p !== undefined && p.bytes + body.length + 1 > BATCH_FLUSH_BYTES) {
        // Sent before this call would push it past the limit: a batch is never much larger than
        // its largest call, so one that NATS takes alone also goes through in a batch.
        this.pending.delete(key);
        this.dispatch(p);
        p = undefined;
      }
      if (p === undefined) {
        p = { subject, timeout, entries: [], bytes: 1 }; // "[" and "]", and a comma less than entries
        this.pending.set(key, p);
      }
      p.entries.push({ body, ok, fail });
      p.bytes += body.length + 1;
      if (p.entries.length >= MAX_BATCH_CALLS || p.bytes >= BATCH_FLUSH_BYTES) {
        this.pending.delete(key);
        this.dispatch(p);
      } else if (!this.scheduled) {
        this.scheduled = true;
        afterJob(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    for (const p of all.values()) this.dispatch(p);
  };

  private dispatch(p: Pending): void {
    const parts: Uint8Array[] = [OPEN];
    for (const [i, e] of p.entries.entries()) {
      if (i > 0) parts.push(COMMA);
      parts.push(e.body);
    }
    parts.push(CLOSE);
    const data = concat(parts, p.bytes);
    this.send(p.subject, data, p.timeout).then(
      (reply) => settle(p.entries, reply),
      (err: unknown) => {
        for (const e of p.entries) e.fail(err);
      },
    );
  }
}

/** Gives each call its answer from the batch's reply (an array in order, or one error for all). */
function settle(entries: readonly Entry[], reply: Msg): void {
  let value: unknown;
  try {
    value = decodeJson(reply.data);
    if (!Array.isArray(value)) {
      const res = parseResponse(value);
      const err = res.ok ? new BadRequestError("the node answered a batch with a single value") : errorFromWire(res.error);
      for (const e of entries) e.fail(err);
      return;
    }
    if (value.length !== entries.length) throw new BadRequestError(`the node answered ${value.length} of a batch of ${entries.length}`);
  } catch (err) {
    for (const e of entries) e.fail(err);
    return;
  }
  for (const [i, e] of entries.entries()) {
    try {
      e.ok(parseResponse((value as unknown[])[i]));
    } catch (err) {
      e.fail(err);
    }
  }
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
