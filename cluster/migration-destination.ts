import type { Clock, TimerHandle } from "../src/clock.js";
import { BadRequestError, ConflictError, UnavailableError, unknownActorType } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import type { PausedGroup } from "../src/runtime/pause.js";
import type { Pending } from "../src/runtime/pending.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { EventStore } from "../src/store/types.js";
import type { MapView } from "./router.js";
import type { ForwardedAsk, HandoffBatch, TailEnd } from "./wire.js";

/** What a {@link MigrationDestination} works with; `Migrations` fills it from its options. */
export interface MigrationDestinationOptions {
  runtime: Runtime;
  store: EventStore;
  maps: MapView;
  clock: Clock;
  /** How long a shard is held for its source's tail (and a handoff waits for a newer map). */
  handoffTimeout: number;
  log: Logger;
  /** Reports a hold that ended here (`Migrations` passes it to the `onEnded` hook). */
  ended: (outcome: string, ms: number) => void;
  /** Told once a held shard is served here (its hold ended with the tail in, by timeout or with its source gone; not when stopping). */
  served?: ((shard: number) => void) | undefined;
}

/** A shard this node is receiving: direct messages are held until the source's tail is in. */
export interface Incoming {
  hold: PausedGroup;
  /** The sources whose tail-end is still awaited: one for a shard move, several for a tenant moving into a shard of its own. */
  from: Set<string>;
  tail: Pending[];
  timer: TimerHandle;
  heldAt: number;
}

/**
 * The receiving side of live migration, per shard this node gains from a live member: from the
 * moment it sees the new map it holds direct messages for the shard; it adopts the handed-over
 * state the event store confirms (phase 1), queues the tail in arrival order (phase 2), and at
 * the tail-end runs the tail, then what it held. Without a tail in `handoffTimeout`, or when the
 * source leaves, it stops holding and its actors load from the store.
 */
export class MigrationDestination {
  private readonly incoming = new Map<number, Incoming>();

  constructor(private readonly opts: MigrationDestinationOptions) {}

  /** Shards being received. */
  get size(): number {
    return this.incoming.size;
  }

  /**
   * Holds `shard` for its tail from `from` — or from each of several sources (a tenant given a
   * shard of its own comes from every node that served its type) — starting now (synchronously).
   */
  hold(shard: number, from: string | readonly string[]): void {
    const { runtime, clock, log } = this.opts;
    if (this.incoming.has(shard) || runtime.pausedPartition(shard) !== undefined) return;
    // From this call on, direct messages for the shard wait here.
    const hold = runtime.holdPartition(shard);
    log.debug({ shard, from }, "holding a shard for its tail");
    const timer = clock.setTimeout(() => {
      log.warn({ shard, from }, "no tail from the source in time; serving from the event store");
      this.endHold(shard, "timeout");
    }, this.opts.handoffTimeout);
    this.incoming.set(shard, { hold, from: new Set(typeof from === "string" ? [from] : from), tail: [], timer, heldAt: clock.now() });
  }

  /** Stops receiving `shard` and hands over its hold and the tail so far (undefined: not receiving it). */
  take(shard: number, outcome: string): Incoming | undefined {
    const inc = this.incoming.get(shard);
    if (inc === undefined) return undefined;
    this.incoming.delete(shard);
    inc.timer.cancel();
    this.opts.ended(outcome, this.opts.clock.now() - inc.heldAt);
    return inc;
  }

  /** Phase 1: adopt each actor whose version the event store confirms. */
  async onHandoff(req: HandoffBatch): Promise<{ adopted: number; fromStore: number }> {
    await this.awaitMap(req.mapVersion);
    const inc = this.incoming.get(req.shard);
    if (inc === undefined) throw new ConflictError(`shard ${req.shard} is not being received here (already serving, or not ours)`);
    // Only the node this shard is expected from may hand it over, and only actors of that shard:
    // a peer is trusted no more than a client.
    if (!inc.from.has(req.from)) throw new ConflictError(`shard ${req.shard} is expected from ${[...inc.from].join(", ")}, not ${req.from.slice(0, 64)}`);
    const { runtime, store } = this.opts;
    for (const a of req.actors) {
      if (!runtime.hosts(a.type)) throw unknownActorType(a.type);
      if (runtime.partitionOf(a.type, a.id) !== req.shard)
        throw new BadRequestError(`actor ${a.type} in a handoff of shard ${req.shard} belongs to another shard`);
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
          runtime.adopt(a.type, a.id, a.version, a.state, a.order, a.timers, a.mail);
        } catch (err) {
          // State its type cannot restore: the actor loads from the store instead.
          this.opts.log.warn({ err: (err as Error)?.message, type: a.type }, "handed-over state could not be restored");
          fromStore++;
          return;
        }
        adopted++;
      }),
    );
    return { adopted, fromStore };
  }

  /** Phase 2: a tail message is queued (in arrival order) behind the hold. */
  onTailAsk(req: ForwardedAsk): Promise<unknown> {
    const inc = this.incoming.get(req.tail!);
    if (inc === undefined) return Promise.reject(new UnavailableError("not receiving that shard"));
    return new Promise((ok, fail) => {
      const runtime = this.opts.runtime;
      inc.tail.push(runtime.prepare(req.type, req.id, req.msg, runtime.clock.now() + req.timeoutMs, { ok, fail }, req.order, req.from));
    });
  }

  /** The source has sent the whole tail: run it, then what was held. */
  async onTailEnd(req: TailEnd): Promise<{ tail: number }> {
    const inc = this.incoming.get(req.shard);
    // Only the source this hold waits for may end it: another node's (an old map's) tail-end
    // would let direct messages run ahead of the real source's tail.
    if (inc !== undefined && !inc.from.has(req.from)) throw new ConflictError(`shard ${req.shard} is held for ${[...inc.from].join(", ")}, not ${req.from}`);
    const n = inc?.tail.length ?? 0;
    inc?.from.delete(req.from);
    // Several sources: the hold ends with the last tail-end (each source's tail is in by then).
    if (inc === undefined || inc.from.size === 0) this.endHold(req.shard, "completed");
    return { tail: n };
  }

  /**
   * A member left (crashed, or its TTL ran out): no tail will come from it, so stop holding the
   * shards it was to hand over; their actors load from the event store instead.
   */
  sourceGone(node: string): void {
    for (const [shard, inc] of [...this.incoming]) {
      if (!inc.from.delete(node)) continue;
      this.opts.log.warn({ shard, from: node }, "source left before its handoff; serving from the event store");
      if (inc.from.size === 0) this.endHold(shard, "source_gone");
    }
  }

  /** Ends every hold (node stopping). */
  stop(): void {
    for (const shard of [...this.incoming.keys()]) this.endHold(shard, "stopped");
  }

  private endHold(shard: number, outcome: string): void {
    const inc = this.take(shard, outcome);
    if (inc === undefined) return;
    this.opts.log.debug({ shard, from: [...inc.from], tail: inc.tail.length, held: inc.hold.buffered.length }, "hold ended");
    void inc.hold.ready.then(() => {
      inc.hold.resume(inc.tail);
      if (outcome !== "stopped") this.opts.served?.(shard);
    });
  }

  private async awaitMap(version: number): Promise<void> {
    await this.opts.maps.waitFor((m) => m !== undefined && m.version >= version, this.opts.handoffTimeout);
  }
}
