import type { Clock } from "../src/clock.js";
import { roughSize } from "../src/codec/rough-size.js";
import { ActorMovedError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import type { PausedGroup } from "../src/runtime/pause.js";
import type { Pending } from "../src/runtime/pending.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { ClusterEvents } from "./events.js";
import type { ShardMap } from "./placement.js";
import type { Transport } from "./transport.js";
import { type ForwardedAsk, type HandoffBatch, handedActor, type TailEnd } from "./wire.js";

/** What a {@link MigrationSource} works with; `Migrations` fills it from its options. */
export interface MigrationSourceOptions {
  nodeId: string;
  runtime: Runtime;
  transport: Transport;
  events: ClusterEvents;
  clock: Clock;
  /** Longest a handoff request (or a tail-end) may take. */
  handoffTimeout: number;
  /** Shards handed off at once. */
  parallelism: number;
  /** Bytes of state per handoff message. */
  batchBytes: number;
  log: Logger;
  /** Reports a move that ended here (`Migrations` passes it to the `onEnded` hook). */
  ended: (outcome: string, ms: number) => void;
  /**
   * True while this node's membership lease has lapsed and it has not re-confirmed: it may have
   * been declared gone and its shards served by others since, so its actors' state is stale.
   */
  isStale?: () => boolean;
}

/**
 * The sending side of live migration, per shard this node loses: pause the shard (in-flight
 * turns finish, new messages buffer in arrival order), capture its active actors and send their
 * state (phase 1), then release the shard and forward what it buffered, in order, marked as its
 * tail, ending with a tail-end (phase 2). If phase 1 fails, the buffered messages go on as plain
 * asks instead. Shards are handed off with bounded parallelism; each ends with a `migration`
 * event.
 */
export class MigrationSource {
  private readonly queue: Array<() => Promise<void>> = [];
  private active = 0;
  private tailEnds = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: MigrationSourceOptions) {}

  /** Shards queued or being handed off, and tail-ends not yet answered. */
  get inFlight(): number {
    return this.active + this.queue.length + this.tailEnds;
  }

  /** Resolves when no shard is being sent and every tail-end has been answered. */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Pauses `shard` right now, synchronously — what is queued for it or arrives from now on joins
   * its tail — and queues its handoff to `to` (`null`: the map gives it to no one). `received` is
   * what this node was itself still receiving for the shard when it moved on: that hold is
   * taken over, and the tail already in goes first.
   */
  start(shard: number, to: string | null, map: ShardMap, received: { hold: PausedGroup; tail: Pending[] } | undefined): void {
    const runtime = this.opts.runtime;
    const group = received?.hold ?? runtime.pausedPartition(shard) ?? runtime.holdPartition(shard);
    const pausedAt = this.opts.clock.now();
    // Judged now, as the map is applied: a node coming back from a silent link applies the map
    // that gave its shards away before it has re-confirmed its membership.
    const stale = this.opts.isStale?.() ?? false;
    this.enqueue(() => this.send(shard, to, map, group, received?.tail ?? [], pausedAt, stale));
  }

  /**
   * Hands the actors of `group` — a set already paused, not a whole shard: a tenant leaving its
   * hashed shards for `shard`, one of its own — to `to`, as a handoff of `shard`.
   */
  startSelected(shard: number, to: string | null, map: ShardMap, group: PausedGroup): void {
    const pausedAt = this.opts.clock.now();
    const stale = this.opts.isStale?.() ?? false;
    this.enqueue(() => this.send(shard, to, map, group, [], pausedAt, stale));
  }

  private idle(): boolean {
    return this.active === 0 && this.queue.length === 0 && this.tailEnds === 0;
  }

  private wakeIfIdle(): void {
    if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.opts.parallelism && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.active++;
      void task().finally(() => {
        this.active--;
        this.pump();
        this.wakeIfIdle();
      });
    }
  }

  private async send(shard: number, to: string | null, map: ShardMap, group: PausedGroup, received: Pending[], started: number, stale: boolean): Promise<void> {
    const { clock, events, nodeId, log } = this.opts;
    await group.ready;
    const captured = group.capture();
    const release = () => [...received, ...group.release()];
    const base = { shard, from: nodeId, to, actors: captured.length, mapVersion: map.version };
    if (to === null) {
      for (const p of release()) p.reject(new ActorMovedError(`shard ${shard} has no owner`));
      this.opts.ended("no_owner", clock.now() - started);
      return;
    }
    // Lets go of the shard without (the rest of) a handoff: what waited goes on as ordinary asks,
    // which the map's owner (or the next map's, once the leader re-plans) serves from the store.
    const letGo = (outcome: string, reason: string) => {
      events.publish({ type: "migration", phase: "failed", ...base, ms: clock.now() - started, reason });
      this.opts.ended(outcome, clock.now() - started);
      for (const p of release()) this.forward(p, map, to, false);
    };
    if (stale) {
      // A zombie's state is no one's to adopt: the new owner has served these actors from the
      // store (or is about to).
      log.debug({ shard, to, actors: captured.length }, "lease lapsed: shard let go without a handoff");
      return letGo("stale", "this node's membership lease had lapsed");
    }
    try {
      for (const actors of batches(captured.map(handedActor), this.opts.batchBytes)) {
        const req: HandoffBatch = { k: "handoff", shard, mapVersion: map.version, epoch: map.epoch, from: nodeId, actors };
        await this.opts.transport.request(to, req, this.opts.handoffTimeout);
      }
    } catch (err) {
      // The destination is gone or refused: nothing was adopted there, or what was is checked
      // against the store.
      log.warn({ err, shard, to }, "handoff failed");
      return letGo("failed", String((err as Error)?.message ?? err));
    }
    const tail = release();
    const paused = clock.now() - started;
    for (const p of tail) this.forward(p, map, to, true, shard);
    const end: TailEnd = { k: "tail-end", shard, mapVersion: map.version, from: nodeId, count: tail.length };
    // Not awaited inside the slot: the shard is already released here and the destination needs
    // nothing more from us, so the next shard's handoff need not wait for this round trip.
    // A draining node waits for these too (whenIdle): it must not leave the membership before
    // the destination has its whole tail, or the destination could stop holding too early.
    this.tailEnds++;
    void this.opts.transport
      .request(to, end, this.opts.handoffTimeout)
      .catch((err: unknown) => log.warn({ err, shard, to }, "tail-end not confirmed; the destination ends its hold by timer"))
      .finally(() => {
        this.tailEnds--;
        this.wakeIfIdle();
      });
    events.publish({ type: "migration", phase: "completed", ...base, tail: tail.length, ms: paused });
    this.opts.ended("completed", paused);
  }

  /** Sends one buffered message on to `to`, settling the original caller with its answer. */
  private forward(p: Pending, map: ShardMap, to: string, asTail: boolean, shard?: number): void {
    const timeoutMs = Math.max(1, p.deadline - this.opts.clock.now());
    const req: ForwardedAsk = { k: "ask", type: p.type, id: p.id, msg: p.msg, timeoutMs, mapVersion: map.version, hops: 1 };
    if (asTail) req.tail = shard!;
    // Per-sender order goes on at the new owner, against the table handed over in phase 1.
    if (p.order !== undefined) req.order = p.order;
    if (p.from !== undefined) req.from = p.from;
    this.opts.transport.request(to, req, timeoutMs + 250).then(
      (r) => p.resolve(r),
      (e: unknown) => p.reject(e),
    );
  }
}

/** Splits captured actors into batches of roughly `bytes` (by {@link roughSize}). */
function* batches<T>(items: readonly T[], bytes: number): Generator<T[]> {
  let batch: T[] = [];
  let size = 0;
  for (const item of items) {
    const s = roughSize(item);
    if (batch.length > 0 && size + s > bytes) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(item);
    size += s;
  }
  yield batch;
}
