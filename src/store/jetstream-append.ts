import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { errors as natsErrors, headers as natsHeaders } from "@nats-io/transport-node";
import { BadRequestError, type ConflictError, InternalError, TimeoutError, UnavailableError } from "../errors.js";
import { versionConflict } from "./checks.js";
import { type JournalReader, leaderAt, leaderLast, leaderNext } from "./jetstream-journal.js";
import { Headers, batchMsgId } from "./jetstream-layout.js";
import type { JournalPubAck, JournalPublisher } from "./jetstream-publish.js";
import type { VersionCache } from "./version-cache.js";

/** What appending needs, beyond reading. */
export interface JournalWriter extends JournalReader {
  readonly publisher: JournalPublisher;
  readonly cache: VersionCache;
  /** Largest message the server accepts (payload + headers). */
  readonly maxPayload: number;
  readonly publishTimeout: number;
  readonly publishAttempts: number;
}

/**
 * @internal One append as it goes on the wire. Publishing the same PreparedAppend again is a
 * retry of the same append: same msg id, same writer token, same expected sequence.
 */
export interface PreparedAppend {
  readonly actorType: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly count: number;
  readonly expectedVersion: number;
  /** Stream sequence of the batch that reached `expectedVersion` (0: the subject is empty). */
  readonly expectSeq: number;
  readonly writer: string;
}

// Codes that say the outcome is not settled yet: the same publish, repeated, will settle it.
const unsettledCodes: ReadonlySet<number> = new Set([
  10158, // duplicate message id is in process
  10163, // expected last sequence per subject temporarily unavailable
  10077, // store failed (e.g. closed under an entry raft already committed)
]);
const headerAllowance = 4096;

/** Finds the sequence to expect: the cache when it agrees with the caller, else the stream leader. */
export async function prepareAppend(w: JournalWriter, p: Omit<PreparedAppend, "expectSeq">): Promise<PreparedAppend> {
  if (p.payload.byteLength + headerAllowance > w.maxPayload) {
    throw new BadRequestError(`batch of ${p.payload.byteLength} bytes exceeds the server's limit of ${w.maxPayload}`, {
      details: { limit: "maxPayload", size: p.payload.byteLength, max: w.maxPayload },
    });
  }
  let head = w.cache.get(p.subject);
  if (head?.version !== p.expectedVersion) {
    head = (await leaderLast(w, p.subject)) ?? { version: 0, seq: 0 };
    w.cache.set(p.subject, head);
  }
  if (head.version !== p.expectedVersion) throw versionConflict(p.actorType, p.expectedVersion, head.version);
  // Spelled out: a spread of `p` costs more than the rest of this function on the hot path.
  return {
    actorType: p.actorType,
    subject: p.subject,
    payload: p.payload,
    count: p.count,
    expectedVersion: p.expectedVersion,
    expectSeq: head.seq,
    writer: p.writer,
  };
}

/**
 * Publishes a prepared append, retrying the identical message while the outcome is unsettled,
 * and settles every outcome into the new version, a CONFLICT, or (only if the leader shows
 * neither this write nor another after the expected sequence) a TIMEOUT: outcome unknown.
 */
export async function publishAppend(w: JournalWriter, p: PreparedAppend): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    let ack: JournalPubAck;
    try {
      // A fresh header set: append, unlike set, skips looking for a value to replace.
      const h = natsHeaders();
      h.append(Headers.version, String(p.expectedVersion + p.count));
      h.append(Headers.count, String(p.count));
      h.append(Headers.writer, p.writer);
      ack = await w.publisher.publish(p.subject, p.payload, {
        msgID: batchMsgId(p.subject, p.expectedVersion),
        expect: { lastSubjectSequence: p.expectSeq },
        headers: h,
        timeout: w.publishTimeout,
      });
    } catch (err) {
      const kind = classify(err);
      if (kind === "fatal") throw fatal(err);
      if (kind === "unsettled" && attempt < w.publishAttempts) {
        // 10 ms settles a rival's in-flight msg id; the longer pauses outlast a leader election.
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 10 * 4 ** (attempt - 1))));
        continue;
      }
      return settle(w, p, kind === "refused", err);
    }
    if (!ack.duplicate) return won(w, p, ack.seq);
    // The msg id of this version is taken. Ours (an earlier attempt whose ack was lost) or another
    // writer's: on old replicated servers the expected-sequence check alone let both through.
    const m = await leaderAt(w, ack.seq).catch((err: unknown) => {
      throw unknown(w, p, err);
    });
    if (m !== null && m.subject === p.subject && m.header.get(Headers.writer) === p.writer) return won(w, p, ack.seq);
    throw await lost(w, p);
  }
}

/** An append refused, or not confirmed in time: did an attempt of ours land right after expectSeq? */
async function settle(w: JournalWriter, p: PreparedAppend, refused: boolean, cause: unknown): Promise<number> {
  let next: Awaited<ReturnType<typeof leaderNext>>;
  try {
    next = await leaderNext(w, p.subject, p.expectSeq + 1);
  } catch (err) {
    if (refused) throw await lost(w, p);
    throw unknown(w, p, err);
  }
  if (next !== null && next.header.get(Headers.writer) === p.writer) return won(w, p, next.seq);
  if (next !== null || refused) throw await lost(w, p);
  throw unknown(w, p, cause);
}

function unknown(w: JournalWriter, p: PreparedAppend, cause: unknown): TimeoutError {
  w.cache.delete(p.subject);
  return new TimeoutError(`append to ${p.actorType} at version ${p.expectedVersion} not confirmed: outcome unknown`, {
    cause,
    details: { expected: p.expectedVersion },
  });
}

function won(w: JournalWriter, p: PreparedAppend, seq: number): number {
  const version = p.expectedVersion + p.count;
  w.cache.set(p.subject, { version, seq });
  return version;
}

async function lost(w: JournalWriter, p: PreparedAppend): Promise<ConflictError> {
  w.cache.delete(p.subject);
  // Only for the error's details; the refusal stands whatever this lookup says.
  const actual = await leaderLast(w, p.subject).then(
    (head) => head?.version ?? 0,
    () => undefined,
  );
  return versionConflict(p.actorType, p.expectedVersion, actual);
}

function classify(err: unknown): "refused" | "unsettled" | "fatal" {
  if (err instanceof JetStreamApiError) {
    if (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown) {
      return "refused";
    }
    return unsettledCodes.has(err.code) || err.status === 503 ? "unsettled" : "fatal";
  }
  if (err instanceof natsErrors.TimeoutError) return "unsettled";
  // No responders: the stream has no leader for a moment (election), or JetStream is gone.
  if (err instanceof Error && err.name === "JetStreamNotEnabled") return "unsettled";
  if (err instanceof natsErrors.RequestError && err.isNoResponders()) return "unsettled";
  return "fatal";
}

function fatal(err: unknown): Error {
  if (err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
    return new UnavailableError("event store connection is closed", { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`append failed: ${message}`, { cause: err });
}
