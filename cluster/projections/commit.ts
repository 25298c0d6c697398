import { JetStreamApiError } from "@nats-io/jetstream";
import { headers, type MsgHdrs, nuid } from "@nats-io/transport-node";
import type { ProjectionBucket } from "../../src/projection/bucket.js";
import type { StagedWrite } from "./view-stage.js";

/** Most stored keys one commit writes besides its checkpoint (the server takes 1000 messages per atomic batch). */
export const MAX_COMMIT_WRITES = 900;

const encoder = new TextDecoder();
const utf8 = new TextEncoder();

/** A commit the server refused (an expectation failed, or the batch broke): nothing of it is stored. */
export class CommitRefused extends Error {
  override name = "CommitRefused";
}

/**
 * Commits a partition's staged writes and its checkpoint as one atomic batch on the projection's
 * bucket (ADR-50 headers, one round trip: the writes are published, the checkpoint is the commit
 * and is answered): all land or none. Each write expects the revision it was staged against, and
 * the checkpoint expects its own last revision, so a writer that lost its claim (or whose build
 * was retired) commits nothing. Resolves to the revision of each write, then of the checkpoint.
 * Rejects with {@link CommitRefused} when the server refused it, and with anything else when the
 * outcome is unknown: the caller then reads the checkpoint again.
 */
export async function commitAtomically(
  bucket: ProjectionBucket,
  writes: readonly StagedWrite[],
  checkpoint: { key: string; json: string; revision: number },
  timeout = 5000,
): Promise<{ revisions: number[]; checkpointRevision: number }> {
  if (writes.length > MAX_COMMIT_WRITES) throw new RangeError(`one commit writes at most ${MAX_COMMIT_WRITES} keys`);
  const cpSubject = bucket.subject(checkpoint.key);
  if (writes.length === 0) {
    try {
      const ack = await bucket.js.publish(cpSubject, utf8.encode(checkpoint.json), { expect: { lastSubjectSequence: checkpoint.revision }, timeout });
      return { revisions: [], checkpointRevision: ack.seq };
    } catch (err) {
      throw refusal(err);
    }
  }
  const id = nuid.next();
  writes.forEach((w, i) => {
    const h = batchHeaders(id, i + 1, w.revision);
    if (w.json === undefined) h.set("KV-Operation", "DEL");
    bucket.nc.publish(bucket.subject(w.key), w.json === undefined ? undefined : utf8.encode(w.json), { headers: h });
  });
  const h = batchHeaders(id, writes.length + 1, checkpoint.revision);
  h.set("Nats-Batch-Commit", "1");
  const reply = await bucket.nc.request(cpSubject, utf8.encode(checkpoint.json), { headers: h, timeout });
  const ack = JSON.parse(encoder.decode(reply.data)) as { seq?: number; count?: number; error?: { description?: string; err_code?: number } };
  if (ack.error !== undefined || ack.count !== writes.length + 1 || typeof ack.seq !== "number") {
    throw new CommitRefused(ack.error?.description ?? `batch stored ${ack.count ?? 0} of ${writes.length + 1} messages`);
  }
  const base = ack.seq - writes.length;
  return { revisions: writes.map((_, i) => base + i), checkpointRevision: ack.seq };
}

function batchHeaders(id: string, n: number, revision: number): MsgHdrs {
  const h = headers();
  h.set("Nats-Batch-Id", id);
  h.set("Nats-Batch-Sequence", String(n));
  h.set("Nats-Expected-Last-Subject-Sequence", String(revision));
  return h;
}

/** A publish error the server answered (an expectation failed) is a refusal; a timeout or lost link is not. */
function refusal(err: unknown): unknown {
  return err instanceof JetStreamApiError ? new CommitRefused(err.message) : err;
}
