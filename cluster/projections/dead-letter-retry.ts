import type { JetStreamManager } from "@nats-io/jetstream";
import type { Clock } from "../../src/clock.js";
import type { Logger } from "../../src/log.js";
import type { ProjectionBucket } from "../../src/projection/bucket.js";
import type { DeadLetters, StoredDeadLetter } from "../../src/projection/dead-letters.js";
import { onceKey } from "../../src/projection/layout.js";
import type { ProjectedEvent, ProjectionContext, ProjectionDefinition } from "../../src/projection/spec.js";
import { type Attempted, attempt, Stopping } from "./attempts.js";
import { journalAddress, journalBatch } from "./journal-batch.js";
import type { ViewStage } from "./view-stage.js";

/** What applying a dead letter again needs from the runner of its partition. */
export interface RetryHost {
  readonly def: ProjectionDefinition;
  readonly build: number;
  readonly bucket: ProjectionBucket;
  readonly deadLetters: DeadLetters;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly journalPrefix: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stage: ViewStage<unknown>;
  readonly ctx: ProjectionContext<unknown>;
  /** The partition's committed checkpoint sequence. */
  checkpointSeq(): number;
  stopping(): boolean;
  /** Counts one more event applied (committed with the retry). */
  applied(): void;
  /** Commits what is staged; false when the runner may no longer write. */
  commit(): Promise<boolean>;
}

/**
 * How a retry ended: applied (once, and the letter dropped); dropped (it had been applied
 * already); failed again (the letter back to dead, with the error); later (its dead-lettering
 * commit has not landed yet); ended (the runner lost its partition).
 */
export type RetryOutcome = "applied" | "dropped" | "failed" | "later" | "ended";

/**
 * Applies a dead letter again, exactly once: in a commit that moves its marker
 * `b<build>.once.<seq>-<index>` from dead to applied, expecting the dead marker's revision. A
 * letter with no marker while the checkpoint is past it was never dead-lettered by a commit that
 * landed (a replay applied the event): it is dropped as stale.
 */
export async function retryDeadLetter(h: RetryHost, d: StoredDeadLetter): Promise<RetryOutcome> {
  const once = onceKey(h.build, d.seq, d.index);
  const marker = await h.bucket.json<{ state: string }>(once);
  if (marker.value?.state !== "dead") {
    if (marker.value === undefined && h.checkpointSeq() < d.seq) return "later";
    h.log.info({ projection: d.projection, key: d.key, marker: marker.value?.state ?? "none" }, "dead letter was applied already; dropped");
    await h.deadLetters.drop(d.key);
    return "dropped";
  }
  const outcome = await applyAgain(h, d);
  if (!outcome.ok) {
    h.stage.reset();
    const { key: _, revision, ...letter } = d;
    const again = { ...letter, state: "dead" as const, error: outcome.error, attempts: d.attempts + outcome.attempts, at: h.clock.now() };
    await h.deadLetters.update(again, revision).catch(() => undefined);
    return "failed";
  }
  h.stage.mark(once, { state: "applied", at: h.clock.now() }, marker.revision);
  h.applied();
  if (!(await h.commit())) return "ended";
  await h.deadLetters.drop(d.key);
  h.log.info({ projection: d.projection, key: d.key }, "dead letter applied");
  return "applied";
}

/** Reads the letter's event from the journal and runs the handler on it, with the policy's retries. */
async function applyAgain(h: RetryHost, d: StoredDeadLetter): Promise<Attempted> {
  const m = await h.jsm.streams.getMessage(h.stream, { seq: d.seq });
  const address = m === null ? undefined : journalAddress(m.subject, h.journalPrefix.length);
  if (m === null || address === undefined) return { ok: false, error: `journal message #${d.seq} is gone`, attempts: 1 };
  try {
    const batch = journalBatch({ seq: m.seq, data: m.data, headers: m.header, time: Date.parse(m.timestamp) }, address);
    const event: ProjectedEvent = {
      type: batch.type,
      id: batch.id,
      version: batch.version - batch.events.length + d.index + 1,
      event: batch.events[d.index],
      seq: d.seq,
      index: d.index,
      time: batch.time,
    };
    return await attempt(h.def.handle, event, h.ctx, h.stage, h.def.onFailure, h.clock, () => h.stopping());
  } catch (err) {
    if (err instanceof Stopping) throw err;
    return { ok: false, error: (err as Error).message, attempts: 1 };
  }
}
