import type { Clock, TimerHandle } from "../src/clock.js";
import { ActorMovedError, BadRequestError, ConflictError, UnavailableError, unknownActorType } from "../src/errors.js";
import { type Logger, silentLogger } from "../src/log.js";
import type { PausedGroup } from "../src/runtime/pause.js";
import type { Pending } from "../src/runtime/pending.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { EventStore } from "../src/store/types.js";
import type { ClusterEvents } from "./events.js";
import type { ShardMap } from "./placement.js";
import type { MapView } from "./router.js";
import type { Transport } from "./transport.js";
import type { ForwardedAsk, HandoffBatch, TailEnd } from "./wire.js";

export interface MigrationOptions {
  nodeId: string;
  runtime: Runtime;
  store: EventStore;
  transport: Transport;
  maps: MapView;
  events: ClusterEvents;
  clock: Clock;
  /** Is this node a live member (its moves are planned handoffs, not failovers)? */
  isAlive: (node: string) => boolean;
  /** Longest a handoff request may take; also how long a destination holds a shard for its source. */
  handoffTimeout?: number;
  /** Shards handed off at once. */
  parallelism?: number;
  /** Bytes of state per handoff message (NATS max_payload is 1 MiB by default). */
  batchBytes?: number;
  logger?: Logger;
  /** Called as each shard move ends here (for metrics); see {@link MigrationEnded}. */
  onEnded?: MigrationEnded;
}

/**
 * One shard move ended on this node. Source outcomes: `completed` (ms = the pause), `failed`,
 * `no_owner`; destination: `completed` (tail in), `timeout`, `superseded` (moved on before
 * its tail), `stopped` (ms = how long the shard was held).
 */
export type MigrationEnded = (role: "source" | "destination", outcome: string, ms: number) => void;

/** A shard this node is receiving: direct messages are held until the source's tail is in. */
interface Incoming {
  hold: PausedGroup;
  from: string;
  tail: Pending[];
  timer: TimerHandle;
  heldAt: number;
}

/**
 * Live migration, per moved shard. Source: pause the shard (in-flight turns finish, new messages
 * buffer in order), capture the active actors, send their state (phase 1: the destination checks
 * each version against the event store and adopts), then release the shard and forward the
 * buffered messages in order, ending with a tail-end marker (phase 2). Destination: from the
 * moment it sees the new map it holds direct messages for the shard; the tail goes ahead of
 * them. A shard whose previous owner is gone is not held: its actors load from the store.
 */
export class Migrations {
  private readonly incoming = new Map<number, Incoming>();
  private readonly queue: Array<() => Promise<void>> = [];
  private active = 0;
  private tailEnds = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly handoffTimeout: number;
  private readonly parallelism: number;
  private readonly batchBytes: number;
  private readonly log: Logger;

  constructor(private readonly opts: MigrationOptions) {
    this.handoffTimeout = opts.handoffTimeout ?? 10_000;
    this.parallelism = opts.parallelism ?? 8;
    this.batchBytes = opts.batchBytes ?? 256 * 1024;
    this.log = opts.logger ?? silentLogger;
  }

  /** Shards being sent or received right now. */
  get inFlight(): number {
    return this.active + this.queue.length + this.incoming.size + this.tailEnds;
  }

  /** Resolves when no shard is being sent and every tail-end has been answered (received shards end by their own timers). */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private idle(): boolean {
    return this.active === 0 && this.queue.length === 0 && this.tailEnds === 0;
  }

  private wakeIfIdle(): void {
    if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Called synchronously as each new map is applied. Every shard this node loses is paused right
   * here, before any further message is dispatched: what is queued or arrives from now on joins
   * its tail. The handoffs themselves then run with bounded parallelism.
   */
  onMap(prev: ShardMap | undefined, next: ShardMap): void {
    const me = this.opts.nodeId;
    next.owners.forEach((owner, shard) => {
      const before = prev?.owners[shard] ?? null;
      if (before === me && owner !== me) {
        // Still receiving it (it moved on before its tail was in)? Take over the hold: the tail
        // we got goes first, then what was held, then what arrives while we hand off.
        const inc = this.take(shard, "superseded");
        const group = inc?.hold ?? this.opts.runtime.pausedPartition(shard) ?? this.opts.runtime.holdPartition(shard);
        const pausedAt = this.opts.clock.now();
        this.enqueue(() => this.send(shard, owner, next, group, inc?.tail ?? [], pausedAt));
      } else if (before !== me && owner === me && before !== null && this.opts.isAlive(before)) {
        this.hold(shard, before);
      }
    });
  }

  // ---- source -----------------------------------------------------------------------------

  private enqueue(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.parallelism && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.active++;
      void task().finally(() => {
        this.active--;
        this.pump();
        this.wakeIfIdle();
      });
    }
  }

  private async send(shard: number, to: string | null, map: ShardMap, group: PausedGroup, received: Pending[], started: number): Promise<void> {
    const { clock, events, nodeId } = this.opts;
    await group.ready;
    const captured = group.capture();
    const release = () => [...received, ...group.release()];
    const base = { shard, from: nodeId, to, actors: captured.length, mapVersion: map.version };
    if (to === null) {
      for (const p of release()) p.reject(new ActorMovedError(`shard ${shard} has no owner`));
      this.ended("source", "no_owner", clock.now() - started);
      return;
    }
    try {
      for (const actors of batches(captured, this.batchBytes)) {
        const req: HandoffBatch = { k: "handoff", shard, mapVersion: map.version, epoch: map.epoch, from: nodeId, actors };
        await this.opts.transport.request(to, req, this.handoffTimeout);
      }
    } catch (err) {
      // The destination is gone or refused: nothing was adopted there, or what was is checked
      // against the store. Let go of the shard and send what waited as ordinary asks: the
      // map's owner (or the next map's, once the leader re-plans) serves them from the store.
      this.log.warn({ err, shard, to }, "handoff failed");
      events.publish({ type: "migration", phase: "failed", ...base, ms: clock.now() - started, reason: String((err as Error)?.message ?? err) });
      this.ended("source", "failed", clock.now() - started);
      for (const p of release()) this.forward(p, map, to, false);
      return;
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
      .request(to, end, this.handoffTimeout)
      .catch((err: unknown) => this.log.warn({ err, shard, to }, "tail-end not confirmed; the destination ends its hold by timer"))
      .finally(() => {
        this.tailEnds--;
        this.wakeIfIdle();
      });
    events.publish({ type: "migration", phase: "completed", ...base, tail: tail.length, ms: paused });
    this.ended("source", "completed", paused);
  }

  private ended(role: "source" | "destination", outcome: string, ms: number): void {
    try {
      this.opts.onEnded?.(role, outcome, ms);
    } catch (err) {
      this.log.warn({ err }, "onEnded hook threw");
    }
  }

  /** Sends one buffered message on to `to`, settling the original caller with its answer. */
  private forward(p: Pending, map: ShardMap, to: string, asTail: boolean, shard?: number): void {
    const timeoutMs = Math.max(1, p.deadline - this.opts.clock.now());
    const req: ForwardedAsk = { k: "ask", type: p.type, id: p.id, msg: p.msg, timeoutMs, mapVersion: map.version, hops: 1 };
    if (asTail) req.tail = shard!;
    this.opts.transport.request(to, req, timeoutMs + 250).then(
      (r) => p.resolve(r),
      (e: unknown) => p.reject(e),
    );
  }

  // ---- destination ------------------------------------------------------------------------

  private hold(shard: number, from: string): void {
    const { runtime, clock } = this.opts;
    if (this.incoming.has(shard) || runtime.pausedPartition(shard) !== undefined) return;
    // From this call on, direct messages for the shard wait here.
    const hold = runtime.holdPartition(shard);
    this.log.debug({ shard, from }, "holding a shard for its tail");
    const timer = clock.setTimeout(() => {
      this.log.warn({ shard, from }, "no tail from the source in time; serving from the event store");
      this.endHold(shard, "timeout");
    }, this.handoffTimeout);
    this.incoming.set(shard, { hold, from, tail: [], timer, heldAt: clock.now() });
  }

  private take(shard: number, outcome: string): Incoming | undefined {
    const inc = this.incoming.get(shard);
    if (inc === undefined) return undefined;
    this.incoming.delete(shard);
    inc.timer.cancel();
    this.ended("destination", outcome, this.opts.clock.now() - inc.heldAt);
    return inc;
  }

  private endHold(shard: number, outcome: string): void {
    const inc = this.take(shard, outcome);
    if (inc === undefined) return;
    this.log.debug({ shard, from: inc.from, tail: inc.tail.length, held: inc.hold.buffered.length }, "hold ended");
    void inc.hold.ready.then(() => inc.hold.resume(inc.tail));
  }

  /** Phase 1 at the destination: adopt each actor whose version the event store confirms. */
  async onHandoff(req: HandoffBatch): Promise<{ adopted: number; fromStore: number }> {
    await this.awaitMap(req.mapVersion);
    const inc = this.incoming.get(req.shard);
    if (inc === undefined) throw new ConflictError(`shard ${req.shard} is not being received here (already serving, or not ours)`);
    // Only the node this shard is expected from may hand it over, and only actors of that shard:
    // a peer is trusted no more than a client.
    if (req.from !== inc.from) throw new ConflictError(`shard ${req.shard} is expected from ${inc.from}, not ${req.from.slice(0, 64)}`);
    const { runtime, store } = this.opts;
    for (const a of req.actors) {
      if (!runtime.hosts(a.type)) throw unknownActorType(a.type);
      if (runtime.partitionOf(a.type, a.id) !== req.shard) throw new BadRequestError(`actor ${a.type} in a handoff of shard ${req.shard} belongs to another shard`);
    }
    let adopted = 0;
    let fromStore = 0;
    await Promise.all(
      req.actors.map(async (a) => {
        if (runtime.isActive(a.type, a.id)) return;
        const eventSourced = runtime.kindOf(a.type) === "event-sourced";
        // Only state the journal confirms is adopted; anything else loads from the store.
        if (eventSourced && (await store.version({ type: a.type, id: a.id })) !== a.version) {
          fromStore++;
          return;
        }
        try {
          runtime.adopt(a.type, a.id, a.version, a.state);
        } catch (err) {
          // State its type cannot restore: the actor loads from the store instead.
          this.log.warn({ err: (err as Error)?.message, type: a.type }, "handed-over state could not be restored");
          fromStore++;
          return;
        }
        adopted++;
      }),
    );
    return { adopted, fromStore };
  }

  /** Phase 2 at the destination: a tail message is queued (in arrival order) behind the hold. */
  onTailAsk(req: ForwardedAsk): Promise<unknown> {
    const inc = this.incoming.get(req.tail!);
    if (inc === undefined) return Promise.reject(new UnavailableError("not receiving that shard"));
    return new Promise((ok, fail) => {
      const runtime = this.opts.runtime;
      inc.tail.push(runtime.prepare(req.type, req.id, req.msg, runtime.clock.now() + req.timeoutMs, { ok, fail }));
    });
  }

  /** The source has sent the whole tail: run it, then what was held. */
  async onTailEnd(req: TailEnd): Promise<{ tail: number }> {
    const inc = this.incoming.get(req.shard);
    const n = inc?.tail.length ?? 0;
    this.endHold(req.shard, "completed");
    return { tail: n };
  }

  private async awaitMap(version: number): Promise<void> {
    await this.opts.maps.waitFor((m) => m !== undefined && m.version >= version, this.handoffTimeout);
  }

  /**
   * A member left (crashed, or its TTL ran out): no tail will come from it, so stop holding the
   * shards it was to hand over; their actors load from the event store instead.
   */
  sourceGone(node: string): void {
    for (const [shard, inc] of [...this.incoming]) {
      if (inc.from !== node) continue;
      this.log.info({ shard, from: node }, "source left before its handoff; serving from the event store");
      this.endHold(shard, "source_gone");
    }
  }

  /** Ends every hold (node stopping). */
  stop(): void {
    for (const shard of [...this.incoming.keys()]) this.endHold(shard, "stopped");
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

/**
 * A value's MessagePack size, estimated without encoding it (as the JSON length it replaces
 * did): a string counts one byte per UTF-16 unit, so text outside ASCII may take up to 3× its
 * estimate (the default 256 KB batch leaves that margin under NATS's 1 MiB payload); a scalar
 * counts 9, a container 5 plus its keys and items, bytes of a typed array as they are.
 */
export function roughSize(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") total += 5 + v.length;
    else if (typeof v !== "object" || v === null) total += 9;
    else if (ArrayBuffer.isView(v)) total += 5 + v.byteLength;
    else if (Array.isArray(v)) {
      total += 5;
      for (const x of v) stack.push(x);
    } else {
      total += 5;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        total += 5 + k.length;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return total;
}
