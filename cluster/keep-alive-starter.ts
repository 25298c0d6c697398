import type { Clock, TimerHandle } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import type { KeepAliveHooks } from "../src/runtime/runtime-options.js";
import type { ActorKey } from "../src/store/types.js";
import type { KeepAliveRecords } from "./keep-alive-records.js";
import type { SingletonStatus } from "./status.js";

/** What the starter needs of the node's runtime. */
export interface KeepAliveRuntime {
  /** Loads an actor and runs its onActivate without a message (see `Runtime.activate`). */
  activate(type: string, id: string): Promise<void>;
  isActive(type: string, id: string): boolean;
  /** The pause group of a shard being received or sent, if any. */
  pausedPartition(shard: number): unknown;
}

/** What a {@link KeepAliveStarter} works with. */
export interface KeepAliveStarterOptions {
  runtime: KeepAliveRuntime;
  /** The keep-alive bucket; undefined when no hosted type is kept alive but singletons. */
  records: KeepAliveRecords | undefined;
  /** The singleton types hosted here (each one actor, whose id is its type's name). */
  singletons: readonly string[];
  /** The shard of an actor. */
  shardOf: (type: string, id: string) => number;
  /** Whether this node's current map gives it `shard`. */
  owns: (shard: number) => boolean;
  /** Whether this node must not act now (its lease lapsed): its singletons are not reported running. */
  isStale: () => boolean;
  clock: Clock;
  log: Logger;
  /** Actors loaded at once. Default 8. */
  concurrency?: number;
  /** How often (ms) the node checks that the singletons of its shards run. */
  checkEvery: number;
}

interface Target {
  readonly type: string;
  readonly id: string;
  readonly shard: number;
  attempt: number;
}

/** First pause before starting an actor again after its start failed (ms); it doubles up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 100;
/** Longest pause before starting an actor again: a singleton is back within this of its cause's end. */
const MAX_RETRY_MS = 5000;

/**
 * Starts, without a message, the keep-alive actors and singletons of the shards this node gains:
 * at its first map (cluster start), when a live handoff ends (actors the source did not hand over,
 * or that the destination had to load from the store), and when it takes over a crashed or
 * departed node's shards. Keep-alive actors come from the durable records of those shards,
 * singletons from the hosted types. Each goes through `Runtime.activate`, so the owner fence
 * decides, as for a message; at most `concurrency` load at once; a start that fails for want of
 * NATS or a lease is tried again (after 100 ms, doubling, then every 5 s) while the shard stays
 * here, and every failure is logged, never thrown. A periodic check starts any singleton of an
 * owned shard that is not running (a missed trigger, a failed load). Nothing runs before
 * {@link start}: a node acts as an owner only once it has joined.
 */
export class KeepAliveStarter implements KeepAliveHooks {
  private readonly queue: Target[] = [];
  /** Actors queued, starting or waiting to try again, by type then id: each is started by one task at a time. */
  private readonly taken = new Map<string, Set<string>>();
  private readonly toList = new Set<number>();
  private readonly retries = new Set<TimerHandle>();
  private readonly singletonShards: ReadonlyMap<string, number>;
  private active = 0;
  private listing = false;
  /** Listings failed in a row: the next waits 1 s, doubling up to 30 s. */
  private listFailures = 0;
  private started = false;
  private closed = false;
  private check: TimerHandle | undefined;

  constructor(private readonly opts: KeepAliveStarterOptions) {
    this.singletonShards = new Map(opts.singletons.map((t) => [t, opts.shardOf(t, t)]));
  }

  /** The node has joined: start what its shards need, and check its singletons from now on. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.listSoon();
    this.checkSingletons();
  }

  /** This node now serves `shards` (a first map, an ended hold, a takeover): start their keep-alive actors and singletons. */
  gained(shards: readonly number[]): void {
    if (this.closed) return;
    for (const s of shards) this.toList.add(s);
    if (this.started) this.listSoon();
  }

  /** Runtime hook: a message activated a keep-alive actor; record it so that its shard's next owner starts it. */
  activated(key: ActorKey): void {
    if (this.singletonShards.has(key.type)) return; // started by type, never recorded
    this.opts.records?.record(this.opts.shardOf(key.type, key.id), key);
  }

  /** Runtime hook: a keep-alive actor stopped itself; delete its record. */
  stopped(key: ActorKey): void {
    this.opts.records?.forget(this.opts.shardOf(key.type, key.id), key);
  }

  /** Each hosted singleton type, and whether it runs here now. */
  singletons(): SingletonStatus[] {
    const { runtime, owns, isStale } = this.opts;
    const stale = isStale();
    return [...this.singletonShards].map(([type, shard]) => ({
      type,
      running: !stale && owns(shard) && runtime.isActive(type, type) && runtime.pausedPartition(shard) === undefined,
    }));
  }

  /** Actors waiting or starting (for tests). */
  get pending(): number {
    return this.queue.length + this.active;
  }

  /** Starts nothing more (the node is stopping). */
  stop(): void {
    this.closed = true;
    this.check?.cancel();
    for (const r of this.retries) r.cancel();
    this.retries.clear();
    this.queue.length = 0;
    this.opts.records?.stop();
  }

  private listSoon(): void {
    if (this.listing || this.toList.size === 0) return;
    this.listing = true;
    // Gains of one map (or of holds ending together) are listed together.
    queueMicrotask(() => void this.list());
  }

  private async list(): Promise<void> {
    const shards = [...this.toList].filter((s) => this.opts.owns(s));
    this.toList.clear();
    for (const [type, shard] of this.singletonShards) if (shards.includes(shard)) this.enqueue({ type, id: type, shard, attempt: 0 });
    try {
      const found = this.opts.records === undefined ? [] : await this.opts.records.list(shards);
      this.listFailures = 0;
      for (const { shard, key } of found) this.enqueue({ type: key.type, id: key.id, shard, attempt: 0 });
      if (found.length > 0) this.opts.log.info({ shards: shards.length, actors: found.length }, "starting keep-alive actors");
    } catch (err) {
      const pause = Math.min(30_000, 1000 * 2 ** this.listFailures++);
      this.opts.log.warn({ err, shards: shards.length, retryInMs: pause }, "could not list keep-alive actors; trying again");
      this.later(pause, () => this.gained(shards));
    } finally {
      this.listing = false;
      if (!this.closed) this.listSoon();
    }
  }

  private enqueue(t: Target): void {
    if (this.closed) return;
    let ids = this.taken.get(t.type);
    if (ids?.has(t.id)) return;
    if (ids === undefined) {
      ids = new Set();
      this.taken.set(t.type, ids);
    }
    ids.add(t.id);
    this.queue.push(t);
    this.pump();
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 8;
    while (this.active < limit && this.queue.length > 0) {
      const t = this.queue.shift()!;
      this.active++;
      void this.run(t)
        .catch(() => false)
        .then((again) => {
          this.active--;
          if (again) this.later(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** t.attempt), () => this.retry(t));
          else this.untake(t);
          this.pump();
        });
    }
  }

  /** Starts one actor; true when it should be tried again later (it could not start for a reason that may pass). */
  private async run(t: Target): Promise<boolean> {
    const { runtime, owns, log } = this.opts;
    if (this.closed || !owns(t.shard) || runtime.isActive(t.type, t.id)) return false;
    try {
      await runtime.activate(t.type, t.id);
    } catch (err) {
      if (ShoalError.is(err, ErrorCode.ACTOR_MOVED)) return false; // no longer ours: its new owner starts it
      if (ShoalError.is(err, ErrorCode.UNKNOWN_ACTOR_TYPE) || ShoalError.is(err, ErrorCode.BAD_REQUEST)) {
        log.warn({ err, type: t.type }, "a keep-alive actor cannot start on this node");
        return false;
      }
      log.debug({ err, type: t.type, attempt: t.attempt }, "a keep-alive actor did not start yet");
    }
    // A held shard's actors start when its hold ends; a load that failed (the runtime logged it) is tried again.
    if (this.closed || runtime.isActive(t.type, t.id) || runtime.pausedPartition(t.shard) !== undefined || !owns(t.shard)) return false;
    if (t.attempt >= 3) log.warn({ type: t.type, shard: t.shard, attempt: t.attempt }, "a keep-alive actor has not started; trying again");
    return true;
  }

  /** Queues an actor again after its pause (it is still taken: nothing else queued it meanwhile). */
  private retry(t: Target): void {
    this.queue.push({ ...t, attempt: t.attempt + 1 });
    this.pump();
  }

  private untake(t: Target): void {
    const ids = this.taken.get(t.type);
    ids?.delete(t.id);
    if (ids?.size === 0) this.taken.delete(t.type);
  }

  private checkSingletons(): void {
    if (this.closed) return;
    for (const [type, shard] of this.singletonShards) {
      const { runtime, owns } = this.opts;
      if (owns(shard) && !runtime.isActive(type, type) && runtime.pausedPartition(shard) === undefined) this.enqueue({ type, id: type, shard, attempt: 0 });
    }
    this.check = this.opts.clock.setTimeout(() => this.checkSingletons(), this.opts.checkEvery);
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const h = this.opts.clock.setTimeout(() => {
      this.retries.delete(h);
      if (!this.closed) fn();
    }, ms);
    this.retries.add(h);
  }
}
