import { decodeToken, encodeToken } from "../codec/token.js";

/**
 * Where a projection keeps things — a contract with every reader of a view (the CLI, clients in
 * other languages), changed only with a migration:
 *
 * - KV bucket `shoal-projection-<cluster>-<name>` (history 1, no direct get: a read after a write
 *   sees it; atomic batches allowed), all JSON:
 *   - `_meta`: {@link ProjectionMeta}, which build serves reads and which is being built;
 *   - `b<build>.cp.<partition>`: {@link Checkpoint}, where that partition of that build stands;
 *   - `b<build>.v.<token(key)>`: the view entry for `key` (the handler's value);
 *   - `b<build>.once.<seq>-<index>`: written with the view writes of a dead letter applied by
 *     `shoal dlq retry`, so it is never applied twice.
 * - KV bucket `shoal-dlq-<cluster>`: one {@link DeadLetter} per key `<name>.b<build>.<seq>-<index>`.
 *
 * A partition's commit is one atomic batch on its bucket: its view writes, each expecting the
 * revision it read, then its checkpoint, expecting the checkpoint's revision. A writer whose claim
 * was superseded, or whose build was retired, fails on the checkpoint and commits nothing.
 */

/** `shoal-projection-<cluster>-<name>`. Both parts must be checked names. */
export function projectionBucket(cluster: string, name: string): string {
  return `shoal-projection-${cluster}-${name}`;
}

/** `shoal-dlq-<cluster>`: the cluster's dead letters. */
export function deadLetterBucket(cluster: string): string {
  return `shoal-dlq-${cluster}`;
}

export const META_KEY = "_meta";

export function checkpointKey(build: number, partition: number): string {
  return `b${build}.cp.${partition}`;
}

export function viewKey(build: number, key: string): string {
  return `b${build}.v.${encodeToken(key)}`;
}

/** The view key a stored key holds, or undefined when it is not one of build `build`'s entries. */
export function parseViewKey(build: number, stored: string): string | undefined {
  const prefix = `b${build}.v.`;
  if (!stored.startsWith(prefix)) return undefined;
  const token = stored.slice(prefix.length);
  const key = decodeToken(token);
  return token !== "" && encodeToken(key) === token ? key : undefined;
}

export function onceKey(build: number, seq: number, index: number): string {
  return `b${build}.once.${seq}-${index}`;
}

/** Every key of one build, for purging a retired one. */
export function buildFilter(build: number): string {
  return `b${build}.>`;
}

export function deadLetterKey(name: string, build: number, seq: number, index: number): string {
  return `${name}.b${build}.${seq}-${index}`;
}

/** One build of a projection: how it is partitioned. */
export interface BuildInfo {
  /** Its partition count (fixed for the build's life). */
  readonly partitions: number;
  /** When it was begun (ms). */
  readonly started: number;
}

/** `_meta`: the builds of a projection and which one reads use. */
export interface ProjectionMeta {
  /** The journal subjects it reads (filters under `shoal.<cluster>.journal.`), for tools that measure its lag. */
  readonly subjects?: readonly string[];
  /** The build reads use. */
  readonly serving: number;
  /** A build being made beside it (`shoal projection rebuild`), until it takes over. */
  readonly building?: number;
  /** Every build not yet purged, by number. */
  readonly builds: Readonly<Record<string, BuildInfo>>;
  /** Set while {@link building} is about to take over: this build's partitions stop committing. */
  readonly freezing?: number;
  /** Builds replaced, to be purged once readers have moved on: build → when it was retired (ms). */
  readonly retired?: Readonly<Record<string, number>>;
  /** Raised by `shoal projection resume`: a stopped partition starts again when it changes. */
  readonly resumes?: number;
  /** Raised by a checkpoint-only replay: the serving build's partitions claim their checkpoints again. */
  readonly replays?: number;
}

/** Where a partition of a build stands, and who holds it. */
export interface Checkpoint {
  /** Every event of the stream before `seq` is done, and so is `seq` unless {@link index} is set. */
  readonly seq: number;
  /** Set when the partition stopped inside batch `seq`: its events before `index` are done. */
  readonly index?: number;
  /** The node holding the partition. */
  readonly owner?: string;
  /** The holder's claim: a fresh token per start, so a commit by an older holder fails. */
  readonly claim?: string;
  /** Version of the shard map it was claimed under. */
  readonly epoch?: number;
  /** When this was committed (ms). */
  readonly at: number;
  /** Events handled by this partition of this build, ever (counted in the commit that covers them: exactly once). */
  readonly applied: number;
  /** Events dead-lettered, likewise. */
  readonly deadLettered: number;
  /** Events skipped (`onFailure.action: "skip"`), likewise. */
  readonly skipped: number;
  /** Journal batches matching the projection after `seq` when committed (all partitions'). */
  readonly pending: number;
  /** How far behind the journal it was when committed: age of the last batch read while more were pending (ms). */
  readonly behindMs: number;
  /** Events per second over the last few commits. */
  readonly rate: number;
  /** Set when the partition stopped on a failing event (`onFailure.action: "stop"`). */
  readonly stopped?: {
    /** The handler's last error. */
    readonly error: string;
    /** When it stopped (ms). */
    readonly at: number;
    /** `_meta.resumes` when it stopped: a resume raises it past this. */
    readonly resumes: number;
  };
  /** Set on every checkpoint of a build that another build replaced: its writers stop. */
  readonly retired?: boolean;
}

/** A dead-lettered event, waiting for `shoal dlq retry` or `drop`. */
export interface DeadLetter {
  /** The projection whose handler failed. */
  readonly projection: string;
  /** Its build. */
  readonly build: number;
  /** The partition that met the event (its owner applies a retry). */
  readonly partition: number;
  /** The event's batch in the journal stream. */
  readonly seq: number;
  /** The event's index in its batch. */
  readonly index: number;
  /** The actor whose event it is: type, id, and its version after the event. */
  readonly type: string;
  /** See {@link type}. */
  readonly id: string;
  /** See {@link type}. */
  readonly version: number;
  /** The event, as JSON shows it (the journal keeps the original). */
  readonly event: unknown;
  /** The handler's last error. */
  readonly error: string;
  /** Runs of the handler on it so far (retries included). */
  readonly attempts: number;
  /** When it was dead-lettered or last retried (ms). */
  readonly at: number;
  /** `dead`: waiting; `retry`: asked to be applied again (the partition's owner picks it up). */
  readonly state: "dead" | "retry";
}

export const FIRST_CHECKPOINT: Checkpoint = { seq: 0, at: 0, applied: 0, deadLettered: 0, skipped: 0, pending: 0, behindMs: 0, rate: 0 };
