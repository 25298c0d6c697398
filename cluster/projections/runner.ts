import { type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { nuid } from "@nats-io/transport-node";
import type { Clock } from "../../src/clock.js";
import type { Logger } from "../../src/log.js";
import type { ProjectionBucket } from "../../src/projection/bucket.js";
import type { DeadLetters, StoredDeadLetter } from "../../src/projection/dead-letters.js";
import { type Checkpoint, checkpointKey, FIRST_CHECKPOINT, onceKey } from "../../src/projection/layout.js";
import { partitionOf } from "../../src/projection/partition.js";
import type { ProjectedEvent, ProjectionContext, ProjectionDefinition } from "../../src/projection/spec.js";
import type { ProjectionEventBody } from "../events.js";
import { attempt, pause, Stopping } from "./attempts.js";
import { type RetryHost, retryDeadLetter } from "./dead-letter-retry.js";
import { chooseFilter } from "./read-filter.js";
import { CommitRefused, commitAtomically, MAX_COMMIT_WRITES } from "./commit.js";
import { type JournalBatch, journalAddress, journalBatch } from "./journal-batch.js";
import { ViewStage } from "./view-stage.js";

/** What a partition runner needs. */
export interface PartitionRunnerOptions {
  def: ProjectionDefinition;
  build: number;
  partition: number;
  /** Partitions of the build. */
  partitions: number;
  bucket: ProjectionBucket;
  deadLetters: DeadLetters;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The journal stream and the prefix of its subjects (`shoal.<cluster>.journal.`). */
  stream: string;
  journalPrefix: string;
  nodeId: string;
  /** Version of the shard map that gave this node the partition. */
  epoch: number;
  /** Whether this build is frozen for a switch (`_meta.freezing`): it reads and commits nothing more. */
  frozen: () => boolean;
  /** `_meta.resumes` now: a partition stopped at a lower count starts again. */
  resumes: () => number;
  clock: Clock;
  log: Logger;
  /** Alerts and news for the cluster's event feed. */
  publish: (body: ProjectionEventBody) => void;
  /** Each commit that landed. */
  onCommit?: (cp: Checkpoint) => void;
  /** Messages per fetch (default 256) and the longest a fetch waits when the journal is quiet (ms, default 1000). */
  fetchSize?: number;
  fetchWait?: number;
}

/** Where a runner is: claiming, running, or why it ended. */
export type RunnerState = "claiming" | "running" | "stopped" | "fenced" | "retired" | "ended";

/** Commit at least this often while events are applied (ms), and after this many batches read. */
const CHUNK_MS = 200;
const CHUNK_BATCHES = 10_000;
/** A partition with nothing to write still records how far it read, this often (ms). */
const IDLE_COMMIT_MS = 1000;

/**
 * Runs one partition of one build of a projection on this node: claims its checkpoint, reads the
 * journal from there with an ordered consumer (the partition's events are picked by their actor,
 * the rest only move the checkpoint), applies each to the handler, and commits the view writes
 * with the checkpoint atomically (`commit.ts`). It ends when stopped (a lost shard), fenced (a
 * newer claim), retired (a rebuild took over) or stopped by the failure policy.
 */
export class PartitionRunner {
  state: RunnerState = "claiming";
  /** The last checkpoint committed (or read when claiming). */
  checkpoint: Checkpoint = FIRST_CHECKPOINT;
  private revision = 0;
  private claim = "";
  private stopping = false;
  private fetch: ConsumerMessages | undefined;
  /** Reading the whole journal: the types to keep (see `read-filter.ts`); undefined while the server filters. */
  private keep: ReadonlySet<string> | undefined;
  /** A commit of this runner was refused: keys are read before they are written from then on. */
  private refused = false;
  private readonly stage: ViewStage<unknown>;
  private readonly ctx: ProjectionContext<unknown>;
  private readonly retries: StoredDeadLetter[] = [];
  private readonly key: string;
  private done: Promise<void> = Promise.resolve();
  // Progress since the last commit.
  private examined: { seq: number; index?: number } = { seq: 0 };
  private counts = { applied: 0, deadLettered: 0, skipped: 0 };
  private batchesSinceCommit = 0;
  private firstChange = 0;
  private lastCommit = 0;
  private pending = 0;
  private lastTime = 0;
  private rate = 0;

  private readonly retryHost: RetryHost;

  constructor(private readonly o: PartitionRunnerOptions) {
    this.stage = new ViewStage(o.bucket, o.build);
    this.ctx = { view: this.stage, partition: o.partition, build: o.build };
    this.key = checkpointKey(o.build, o.partition);
    this.retryHost = {
      ...o,
      stage: this.stage,
      ctx: this.ctx,
      checkpointSeq: () => this.checkpoint.seq,
      stopping: () => this.stopping,
      applied: () => {
        this.counts.applied++;
      },
      commit: () => this.commit(),
    };
  }

  start(): void {
    this.done = this.run().catch((err: unknown) => {
      this.o.log.error({ err, projection: this.o.def.name, partition: this.o.partition }, "projection partition failed");
    });
  }

  /** Stops after the event in hand, committing what was done; resolves when it has ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.fetch?.stop();
    await this.done;
  }

  /** Asks for a dead letter of this partition to be applied again (between batches). */
  retry(d: StoredDeadLetter): void {
    if (!this.retries.some((r) => r.key === d.key)) this.retries.push(d);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.state = "claiming";
      if (!(await this.claimed())) return;
      this.state = "running";
      try {
        await this.consume();
        failures = 0;
      } catch (err) {
        if (err instanceof Stopping) break;
        failures++;
        this.o.log.warn(
          { err, projection: this.o.def.name, build: this.o.build, partition: this.o.partition },
          "projection partition restarts from its checkpoint",
        );
        await pause(this.o.clock, Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
      if (this.state !== "running") return;
    }
    if (this.state === "running" || this.state === "claiming") this.state = "ended";
  }

  /** Takes the checkpoint over with a fresh claim; false when the partition must not run. */
  private async claimed(): Promise<boolean> {
    for (let n = 0; !this.stopping; n++) {
      try {
        const { value, revision } = await this.o.bucket.checkpoint(this.o.build, this.o.partition);
        const cp = value ?? FIRST_CHECKPOINT;
        this.checkpoint = cp;
        this.revision = revision;
        if (cp.retired === true) {
          this.state = "retired";
          return false;
        }
        if (cp.stopped !== undefined && cp.stopped.resumes >= this.o.resumes()) {
          this.state = "stopped";
          return false;
        }
        const claim = nuid.next();
        const { stopped: _, ...rest } = cp;
        const next: Checkpoint = { ...rest, owner: this.o.nodeId, claim, epoch: this.o.epoch, at: this.o.clock.now() };
        this.revision = await this.o.bucket.write(this.key, next, revision);
        this.checkpoint = next;
        this.claim = claim;
        this.examined = { seq: cp.seq, ...(cp.index === undefined ? {} : { index: cp.index }) };
        this.counts = { applied: cp.applied, deadLettered: cp.deadLettered, skipped: cp.skipped };
        this.stage.reset();
        // A partition at the very start of its build has written nothing: no need to read a key before writing it.
        this.stage.fresh = !this.refused && cp.seq === 0 && cp.index === undefined && cp.applied === 0 && cp.deadLettered === 0 && cp.skipped === 0;
        this.lastCommit = this.o.clock.now();
        return true;
      } catch (err) {
        // Someone committed between the read and the claim (a node that has not yet seen the new map): again.
        this.o.log.debug({ err, projection: this.o.def.name, partition: this.o.partition }, "projection claim raced");
        await pause(this.o.clock, Math.min(2000, 50 * 2 ** Math.min(n, 6)));
      }
    }
    return false;
  }

  private async consume(): Promise<void> {
    const { seq, index } = this.examined;
    const from = index === undefined ? seq + 1 : seq;
    const read = await chooseFilter(this.o.js, this.o.jsm, this.o.stream, this.o.journalPrefix, this.o.def.subjects, from);
    this.keep = read.types;
    const consumer = await this.o.js.consumers.get(this.o.stream, {
      filter_subjects: read.filters,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    while (!this.stopping && this.state === "running") {
      this.fetch = await consumer.fetch({ max_messages: this.o.fetchSize ?? 256, expires: this.o.fetchWait ?? 1000 });
      let handled = 0;
      for await (const m of this.fetch) {
        while (this.o.frozen() && !this.stopping) await pause(this.o.clock, 100);
        if (this.stopping) break;
        if (!(await this.onMessage(m))) return;
        handled++;
        // Not yet delivered plus delivered but not yet handled: a fetch takes messages as they are
        // appended, so under load the server's count alone stays at 0 and every message was
        // committed on its own (one round trip each: seconds behind while reporting pending 0).
        this.pending = m.info.pending + this.fetch.getPending();
        if (this.dueNow() && !(await this.commit())) return;
      }
      if (this.stopping) break;
      // The end of a full fetch is no reason to commit while more is pending (that was a commit,
      // a round trip and an atomic batch, per 256 batches read): the chunk rules decide, as above.
      if (handled === 0) this.pending = 0;
      // Quiet for a while after a burst: one more commit says the rate is down to 0.
      const stale = this.pending === 0 && this.checkpoint.rate > 0 && this.o.clock.now() - this.lastCommit >= IDLE_COMMIT_MS;
      if ((this.dueNow() || stale) && !(await this.commit())) return;
      if (this.retries.length > 0 && !(await this.applyRetries())) return;
    }
    if (this.dirty()) await this.commit();
  }

  /** Handles one journal batch; false when the partition stopped on it. */
  private async onMessage(m: JsMsg): Promise<boolean> {
    this.batchesSinceCommit++;
    const address = journalAddress(m.subject, this.o.journalPrefix.length);
    if (
      address === undefined ||
      (this.keep !== undefined && !this.keep.has(address.type)) ||
      partitionOf(this.o.def.partitions.by, this.o.partitions, address.type, address.id) !== this.o.partition
    ) {
      this.examined = { seq: m.seq };
      return true;
    }
    if (this.firstChange === 0) this.firstChange = this.o.clock.now();
    const from = this.examined.seq === m.seq ? (this.examined.index ?? 0) : 0;
    let batch: JournalBatch;
    try {
      batch = journalBatch({ seq: m.seq, data: m.data, headers: m.headers, time: Math.floor(m.info.timestampNanos / 1e6) }, address);
    } catch (err) {
      // A batch no handler can read: it takes the failure path of its first event.
      return this.failed(unreadable(m, address), { error: (err as Error).message, attempts: 1 });
    }
    this.lastTime = batch.time;
    for (let i = from; i < batch.events.length; i++) {
      const event: ProjectedEvent = {
        type: batch.type,
        id: batch.id,
        version: batch.version - batch.events.length + i + 1,
        event: batch.events[i],
        seq: m.seq,
        index: i,
        time: batch.time,
      };
      const outcome = await attempt(this.o.def.handle, event, this.ctx, this.stage, this.o.def.onFailure, this.o.clock, () => this.stopping);
      if (outcome.ok) this.counts.applied++;
      else if (!(await this.failed(event, outcome))) return false;
      this.examined = i + 1 < batch.events.length ? { seq: m.seq, index: i + 1 } : { seq: m.seq };
      if (this.stage.size >= MAX_COMMIT_WRITES && !(await this.commit())) return false;
    }
    this.examined = { seq: m.seq };
    return true;
  }

  /** An event failed its retries: dead-letter, skip or stop; false when the partition stopped. */
  private async failed(event: ProjectedEvent, outcome: { error: string; attempts: number }): Promise<boolean> {
    const where = { projection: this.o.def.name, build: this.o.build, partition: this.o.partition, seq: event.seq, index: event.index, error: outcome.error };
    const action = this.o.def.onFailure.action;
    if (action === "skip") {
      this.o.log.warn(where, "projection skipped an event its handler failed on");
      this.counts.skipped++;
      return true;
    }
    if (action === "stop") {
      this.examined = { seq: event.seq, index: event.index };
      const stopped = { error: outcome.error, at: this.o.clock.now(), resumes: this.o.resumes() };
      this.o.log.error(where, "projection partition stopped on an event its handler failed on");
      if (await this.commit(stopped)) {
        this.state = "stopped";
        this.o.publish({
          type: "projection",
          phase: "stopped",
          projection: this.o.def.name,
          build: this.o.build,
          partition: this.o.partition,
          error: outcome.error,
        });
      }
      return false;
    }
    // Dead letter: stored before any checkpoint passes the event, and marked in the same commit
    // that passes it, so a retry can tell an event that was dead-lettered from one that a replay applied.
    await this.o.deadLetters.put({
      projection: this.o.def.name,
      build: this.o.build,
      partition: this.o.partition,
      seq: event.seq,
      index: event.index,
      type: event.type,
      id: event.id,
      version: event.version,
      event: jsonSafe(event.event),
      error: outcome.error,
      attempts: outcome.attempts,
      at: this.o.clock.now(),
      state: "dead",
    });
    const marker = await this.o.bucket.json(onceKey(this.o.build, event.seq, event.index));
    this.stage.mark(onceKey(this.o.build, event.seq, event.index), { state: "dead" }, marker.revision);
    this.counts.deadLettered++;
    this.o.log.warn(where, "projection dead-lettered an event its handler failed on");
    return true;
  }

  private dirty(): boolean {
    return this.examined.seq !== this.checkpoint.seq || this.examined.index !== this.checkpoint.index || this.stage.size > 0;
  }

  private dueNow(): boolean {
    if (!this.dirty()) return false;
    if (this.batchesSinceCommit >= CHUNK_BATCHES) return true;
    const now = this.o.clock.now();
    if (this.firstChange !== 0 && now - this.firstChange >= CHUNK_MS) return true;
    if (this.pending > 0) return false;
    return this.stage.size > 0 || now - this.lastCommit >= IDLE_COMMIT_MS;
  }

  /** Commits the staged writes with the checkpoint; false when this runner may no longer write. */
  private async commit(stopped?: Checkpoint["stopped"]): Promise<boolean> {
    if (this.o.frozen()) return true; // the build is handing over: what is staged is never committed
    const now = this.o.clock.now();
    const seconds = Math.max(0.001, (now - this.lastCommit) / 1000);
    const applied = this.counts.applied - this.checkpoint.applied;
    const rate = applied / seconds;
    // Nothing applied for a second or more: the rate is 0 now, not a fading memory of the last burst.
    this.rate = applied === 0 && seconds >= IDLE_COMMIT_MS / 1000 ? 0 : this.rate === 0 ? rate : 0.7 * this.rate + 0.3 * rate;
    const { index: _, stopped: __, ...base } = this.checkpoint;
    const next: Checkpoint = {
      ...base,
      seq: this.examined.seq,
      ...(this.examined.index === undefined ? {} : { index: this.examined.index }),
      at: now,
      ...this.counts,
      pending: this.pending,
      behindMs: this.pending > 0 && this.lastTime > 0 ? Math.max(0, now - this.lastTime) : 0,
      rate: Math.round(this.rate * 10) / 10,
      ...(stopped === undefined ? {} : { stopped }),
    };
    const writes = await this.stage.writes();
    try {
      const r = await commitAtomically(this.o.bucket, writes, { key: this.key, json: JSON.stringify(next), revision: this.revision });
      this.stage.committed(writes, r.revisions);
      this.revision = r.checkpointRevision;
    } catch (err) {
      const stored = await this.o.bucket.checkpoint(this.o.build, this.o.partition);
      if (stored.value?.retired === true) {
        this.state = "retired";
        return false;
      }
      if (stored.value?.claim !== this.claim) {
        this.o.log.info(
          { projection: this.o.def.name, build: this.o.build, partition: this.o.partition, by: stored.value?.owner },
          "projection partition taken over",
        );
        this.state = "fenced";
        return false;
      }
      if (!(stored.value.at === next.at && stored.value.seq === next.seq && stored.revision !== this.revision)) {
        // Refused (a view entry written by someone else, or a key guessed absent) or lost: start
        // again from the checkpoint, reading every key from now on.
        this.refused = true;
        throw err instanceof CommitRefused ? err : new Error("projection commit outcome unknown", { cause: err });
      }
      // It landed; only the answer was lost. Revisions of the writes are unknown: read again.
      this.stage.reset();
      this.revision = stored.revision;
    }
    this.checkpoint = next;
    this.batchesSinceCommit = 0;
    this.firstChange = 0;
    this.lastCommit = now;
    this.o.onCommit?.(next);
    return true;
  }

  /** Applies the dead letters asked for again, each in a commit of its own; false when the runner must end. */
  private async applyRetries(): Promise<boolean> {
    const later: StoredDeadLetter[] = [];
    try {
      while (this.retries.length > 0 && !this.stopping) {
        if (this.stage.size > 0 && !(await this.commit())) return false;
        const letter = this.retries.shift()!;
        let outcome: Awaited<ReturnType<typeof retryDeadLetter>>;
        try {
          outcome = await retryDeadLetter(this.retryHost, letter);
        } catch (err) {
          later.push(letter); // the partition restarts from its checkpoint; the retry waits for it
          throw err;
        }
        if (outcome === "ended") return false;
        if (outcome === "later") later.push(letter); // its dead-lettering commit is not in yet: next time
      }
      return true;
    } finally {
      this.retries.push(...later);
    }
  }
}

function unreadable(m: JsMsg, address: { type: string; id: string }): ProjectedEvent {
  return { type: address.type, id: address.id, version: 0, event: null, seq: m.seq, index: 0, time: Math.floor(m.info.timestampNanos / 1e6) };
}

/** A value as JSON keeps it (binary as base64), for showing a dead letter. */
function jsonSafe(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString("base64") : typeof x === "bigint" ? String(x) : x)));
  } catch {
    return String(v);
  }
}
