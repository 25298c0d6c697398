import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import type { MsgpackCodec } from "../codec/msgpack.js";
import { InternalError } from "../errors.js";
import { Headers } from "./jetstream-layout.js";
import type { BatchMeta, StoredEvent } from "./types.js";

/** What reading a journal needs. */
export interface JournalReader {
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly codec: MsgpackCodec;
  /** Messages per direct batch request. */
  readonly pageSize: number;
}

/** The checked headers of one stored batch. */
export interface BatchHead {
  readonly seq: number;
  /** Version after the batch. */
  readonly version: number;
  readonly count: number;
  readonly writer: string;
}

const positiveInt = /^[1-9][0-9]{0,15}$/;
const maxPageBytes = 8 * 1024 * 1024;
/** Empty direct answers in a row (a lagging replica) before reading from the leader instead. */
const maxStalls = 3;

export function malformed(r: JournalReader, m: { seq: number }, subject: string, reason: string, cause?: unknown): InternalError {
  return new InternalError(`malformed journal message ${r.stream}#${m.seq} on ${subject}: ${reason}`, {
    cause,
    details: { stream: r.stream, seq: m.seq, reason },
  });
}

/** Checks and reads a batch's headers; anything off is an error, never skipped. */
export function headOf(r: JournalReader, m: StoredMsg, subject: string): BatchHead {
  if (m.subject !== subject) throw malformed(r, m, subject, `found on subject ${m.subject}`);
  const version = m.header.get(Headers.version);
  const count = m.header.get(Headers.count);
  if (!positiveInt.test(version)) throw malformed(r, m, subject, `bad ${Headers.version} header ${JSON.stringify(version)}`);
  if (!positiveInt.test(count)) throw malformed(r, m, subject, `bad ${Headers.count} header ${JSON.stringify(count)}`);
  const head = { seq: m.seq, version: Number(version), count: Number(count), writer: m.header.get(Headers.writer) };
  if (head.count > head.version) throw malformed(r, m, subject, `${head.count} events cannot reach version ${head.version}`);
  return head;
}

/** A batch payload's events and meta: the array of events, or `{e: events, m: meta}`. */
export function splitPayload(payload: unknown): { events: unknown; meta?: unknown } {
  if (Array.isArray(payload) || typeof payload !== "object" || payload === null || !("e" in payload)) return { events: payload };
  const withMeta = payload as { e: unknown; m?: unknown };
  return { events: withMeta.e, meta: withMeta.m };
}

/**
 * Expands batches (in stream order) into events above `afterVersion`. `base` is the version
 * before the first batch: each batch must start where the previous ended. A batch's payload is
 * the array of its events, or `{e: events, m: meta}` when the runtime stored bookkeeping with
 * it; the metas of the batches above `afterVersion` go to `metas` when it is given.
 */
export function expand(r: JournalReader, msgs: readonly StoredMsg[], subject: string, base: number, afterVersion: number, metas?: BatchMeta[]): StoredEvent[] {
  const out: StoredEvent[] = [];
  let prev = base;
  for (const m of msgs) {
    const head = headOf(r, m, subject);
    if (head.version - head.count !== prev) {
      throw malformed(r, m, subject, `batch covers versions ${head.version - head.count + 1}..${head.version}, expected to follow version ${prev}`);
    }
    prev = head.version;
    if (head.version <= afterVersion) continue;
    let payload: unknown;
    try {
      // A copy: binary values decode as views of their input, which must be neither a Buffer nor shared.
      payload = r.codec.decode(new Uint8Array(m.data));
    } catch (err) {
      throw malformed(r, m, subject, `payload does not decode: ${(err as Error).message}`, err);
    }
    const { events, meta } = splitPayload(payload);
    if (metas !== undefined && meta !== undefined) metas.push({ version: head.version, meta });
    if (!Array.isArray(events) || events.length !== head.count) {
      throw malformed(r, m, subject, `payload is not an array of ${head.count} events`);
    }
    events.forEach((event, i) => {
      const version = head.version - head.count + i + 1;
      if (version > afterVersion) out.push({ version, event });
    });
  }
  return out;
}

/** The subject's last batch, from the stream leader (a direct get may be served by a lagging replica). */
export async function leaderLast(r: JournalReader, subject: string): Promise<BatchHead | undefined> {
  const m = await r.jsm.streams.getMessage(r.stream, { last_by_subj: subject });
  return m === null ? undefined : headOf(r, m, subject);
}

/** The first message on `subject` at or after `seq`, from the leader. */
export function leaderNext(r: JournalReader, subject: string, seq: number): Promise<StoredMsg | null> {
  // The server takes next_by_subj on STREAM.MSG.GET; the client's type only lists seq and last_by_subj.
  return r.jsm.streams.getMessage(r.stream, { seq, next_by_subj: subject } as unknown as { seq: number });
}

export function leaderAt(r: JournalReader, seq: number): Promise<StoredMsg | null> {
  return r.jsm.streams.getMessage(r.stream, { seq });
}

/**
 * Every message on `subject` with a sequence in `[fromSeq, toSeq]`, in order. `toSeq` comes from
 * the leader, so every message up to it exists: direct batch gets (served by any replica) are
 * retried while they stop short, then the leader is asked one message at a time.
 */
export async function readRange(r: JournalReader, subject: string, fromSeq: number, toSeq: number): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  let cursor = fromSeq;
  let stalls = 0;
  while (cursor <= toSeq) {
    const page = stalls < maxStalls ? await directPage(r, subject, cursor, toSeq) : await leaderPage(r, subject, cursor, toSeq);
    const before = cursor;
    for (const m of page) {
      if (m.seq < cursor || m.seq > toSeq) continue;
      out.push(m);
      cursor = m.seq + 1;
    }
    if (cursor > before) {
      stalls = 0;
    } else if (stalls >= maxStalls) {
      throw new InternalError(`journal ${subject} ends before sequence ${toSeq} that the stream leader reported`, {
        details: { stream: r.stream, from: cursor, to: toSeq },
      });
    } else {
      stalls++;
      await new Promise((resolve) => setTimeout(resolve, 10 * stalls));
    }
  }
  return out;
}

async function directPage(r: JournalReader, subject: string, seq: number, toSeq: number): Promise<StoredMsg[]> {
  const batch = Math.min(r.pageSize, toSeq - seq + 1);
  const page: StoredMsg[] = [];
  try {
    const it = await r.jsm.direct.getBatch(r.stream, { seq, next_by_subj: subject, batch, max_bytes: maxPageBytes });
    for await (const m of it) page.push(m);
  } catch {
    // 404: nothing at or after seq on this replica. Any other failure: keep what came; the caller
    // retries and then asks the leader.
  }
  return page;
}

async function leaderPage(r: JournalReader, subject: string, seq: number, toSeq: number): Promise<StoredMsg[]> {
  const page: StoredMsg[] = [];
  for (let cursor = seq; cursor <= toSeq && page.length < r.pageSize; ) {
    const m = await leaderNext(r, subject, cursor);
    if (m === null) break;
    page.push(m);
    cursor = m.seq + 1;
  }
  return page;
}
