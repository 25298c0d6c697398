import type { Clock } from "../clock.js";
import { roughSize } from "../codec/rough-size.js";
import type { ActorKey } from "../store/types.js";
import type { Live } from "./behavior.js";
import { TopN } from "./top-n.js";

/** Tuning of a {@link LoadMeter}. */
export interface LoadMeterOptions {
  /** Half-life (ms) of the decayed turn rates: an actor that stops has half its rate after it. Default 5000. */
  halfLife?: number;
  /** How many of the hottest actors a sample lists. Default 10. */
  topActors?: number;
  /** Most actors whose state size one sample estimates. Default 1000. */
  sizeActors?: number;
  /**
   * Estimated bytes of state one sample walks, roughly; an actor whose state is `k` times this
   * is estimated again only every `k` samples. Default 1 MiB.
   */
  sizeBytes?: number;
}

/** One shard's load on this node at a sample. */
export interface ShardSample {
  shard: number;
  /** Turns started per second, decayed (see {@link LoadMeterOptions.halfLife}). */
  turnsPerSec: number;
  /** Messages waiting in its actors' mailboxes at the sample. */
  mailbox: number;
  /** Its actors in memory here at the sample. */
  actors: number;
  /** Sum of its actors' last state-size estimates (see {@link LoadMeter}). */
  stateBytes: number;
}

/** One of the hottest actors on this node at a sample. */
export interface ActorSample {
  type: string;
  id: string;
  shard: number;
  /** Turns started per second, decayed. */
  turnsPerSec: number;
}

/** The sums of a sample's shards. */
export interface LoadTotals {
  turnsPerSec: number;
  mailbox: number;
  actors: number;
  stateBytes: number;
}

/** What {@link LoadMeter.sample} measured. */
export interface LoadSample {
  /** When (the runtime's clock, ms). */
  at: number;
  /** Every shard with actors here, waiting messages or a turn rate of 0.01/s or more, by shard number. */
  shards: ShardSample[];
  /** The hottest actors here, hottest first (at most {@link LoadMeterOptions.topActors}). */
  hot: ActorSample[];
  /** The sums over {@link shards}. */
  totals: LoadTotals;
}

/**
 * One actor's load counters, kept by its activation; the hot path touches only {@link turns}.
 * @internal
 */
export class ActorLoad {
  /** Turns started since the last sample. */
  turns = 0;
  /** Decayed turns per second, not yet divided by {@link weight}. */
  ewma = 0;
  /** The decay weight gathered since the actor last became busy (divides out the start from zero). */
  weight = 0;
  /** Estimated bytes of its state's snapshot form at its last estimate (0 before the first). */
  stateBytes = 0;
  /** It ran a turn since its last estimate. */
  changed = true;
  /** The number of the sample that last estimated its state. */
  sizedAt = Number.NEGATIVE_INFINITY;

  constructor(
    /** The actor's shard (its runtime's `partitionOf`). */
    readonly shard: number,
  ) {}

  /** Its decayed turns per second. */
  get rate(): number {
    return this.weight > 0 ? this.ewma / this.weight : 0;
  }
}

/** What the meter reads of an activation at a sample. @internal */
export interface MeteredActivation {
  readonly key: ActorKey;
  readonly load: ActorLoad;
  /** Messages waiting for it. */
  readonly queued: number;
  readonly live: Live | undefined;
  readonly behavior: { capture(live: Live): unknown };
}

/** Rates below this (turns/s) count as idle: a shard is not listed, a decayed rate is reset. */
const IDLE = 0.01;

/**
 * A runtime's load, per shard and per actor, counted where it is cheap and computed at each
 * {@link sample}.
 *
 * - **Turns.** Each turn started (a message or a timer firing; a failed turn counts, a message
 *   skipped without a turn does not) adds one to its actor's counter and to its shard's slot
 *   in a `Float64Array`: no allocation, no lookup. A sample turns the counts since the last one
 *   into rates, decayed with a half-life over the injected clock (an exponentially weighted
 *   mean of turns/s over uneven intervals), divided by the weight gathered since the shard or
 *   actor was last idle, so a shard that starts (or arrives by a move) reads its true rate from
 *   its first sample instead of climbing from zero.
 * - **Mailbox and actors**: counted by one walk over the activations per sample.
 * - **State bytes**: the estimated MessagePack size (`roughSize`, the estimate handoff batches
 *   are cut by) of the snapshot form of each actor's state, taken at a sample for actors that
 *   ran a turn since their last estimate, at most `sizeActors` and about `sizeBytes` per sample
 *   (the longest unestimated first); a state of `k × sizeBytes` is re-estimated every `k` samples.
 *   An actor not yet estimated counts 0. It is what a handoff would carry, not heap memory.
 *
 * Shard numbers index arrays that grow as needed: they need not be below the shard count.
 */
export class LoadMeter {
  private counts = new Float64Array(64);
  private ewma = new Float64Array(64);
  private weight = new Float64Array(64);
  private mailbox = new Float64Array(64);
  private actors = new Float64Array(64);
  private bytes = new Float64Array(64);
  /** One past the highest shard number seen. */
  private used = 0;
  private lastAt: number;
  private samples = 0;
  private latest: LoadSample | undefined;
  private readonly halfLife: number;
  private readonly topActors: number;
  private readonly sizeActors: number;
  private readonly sizeBytes: number;

  constructor(
    private readonly clock: Clock,
    private readonly activations: () => Iterable<MeteredActivation>,
    private readonly partitionOf: (type: string, id: string) => number,
    opts: LoadMeterOptions = {},
  ) {
    this.halfLife = positive("halfLife", opts.halfLife ?? 5000);
    this.topActors = Math.floor(positive("topActors", opts.topActors ?? 10, true));
    this.sizeActors = Math.floor(positive("sizeActors", opts.sizeActors ?? 1000, true));
    this.sizeBytes = positive("sizeBytes", opts.sizeBytes ?? 1024 * 1024);
    this.lastAt = clock.now();
  }

  /** The counters of a new activation of `key`. */
  track(key: ActorKey): ActorLoad {
    const shard = this.partitionOf(key.type, key.id);
    if (shard >= this.counts.length) this.grow(shard);
    if (shard >= this.used) this.used = shard + 1;
    return new ActorLoad(shard);
  }

  /** A turn of the actor whose counters are `load` starts (the hot path: two increments). */
  turned(load: ActorLoad): void {
    load.turns++;
    this.counts[load.shard]!++;
  }

  /** The last {@link sample} (undefined before the first). */
  get last(): LoadSample | undefined {
    return this.latest;
  }

  /**
   * Turns the counts since the last sample into rates, walks the activations for mailboxes,
   * actors and state sizes, and keeps the result as {@link last}. Two samples at the same
   * instant give the same result.
   */
  sample(): LoadSample {
    const now = this.clock.now();
    const dt = now - this.lastAt;
    if (dt <= 0 && this.latest !== undefined) return this.latest;
    this.lastAt = now;
    this.samples++;
    const keep = dt > 0 ? 0.5 ** (dt / this.halfLife) : 1;
    const perSec = dt > 0 ? 1000 / dt : 0;
    const used = this.used;
    for (let s = 0; s < used; s++) {
      const c = this.counts[s]!;
      this.counts[s] = 0;
      if (c === 0 && this.weight[s] === 0) continue;
      this.ewma[s] = this.ewma[s]! * keep + (1 - keep) * c * perSec;
      this.weight[s] = this.weight[s]! * keep + (1 - keep);
      if (c === 0 && this.ewma[s]! < IDLE * this.weight[s]!) this.ewma[s] = this.weight[s] = 0;
    }
    this.mailbox.fill(0, 0, used);
    this.actors.fill(0, 0, used);
    this.bytes.fill(0, 0, used);
    const hot = new TopN<MeteredActivation>(this.topActors);
    // The actors whose state is due for an estimate, the longest unestimated first.
    const due = new TopN<MeteredActivation>(this.sizeActors);
    const { actors, mailbox, bytes, samples, sizeBytes } = this;
    for (const a of this.activations()) {
      const l = a.load;
      const s = l.shard;
      actors[s]!++;
      const queued = a.queued;
      if (queued > 0) mailbox[s]! += queued;
      if (l.turns > 0 || l.weight > 0) {
        const c = l.turns;
        l.turns = 0;
        if (c > 0) l.changed = true;
        l.ewma = l.ewma * keep + (1 - keep) * c * perSec;
        l.weight = l.weight * keep + (1 - keep);
        if (c === 0 && l.ewma < IDLE * l.weight) l.ewma = l.weight = 0;
        else if (l.ewma >= IDLE * l.weight) hot.offer(a, l.ewma / l.weight);
      }
      if (l.changed && a.live !== undefined && samples - l.sizedAt >= Math.ceil(l.stateBytes / sizeBytes)) due.offer(a, -l.sizedAt);
      if (l.stateBytes > 0) bytes[s]! += l.stateBytes;
    }
    let walked = 0;
    for (const a of due.sorted()) {
      if (walked >= this.sizeBytes) break;
      const before = a.load.stateBytes;
      walked += this.estimate(a);
      this.bytes[a.load.shard]! += a.load.stateBytes - before;
    }
    this.latest = this.collect(now, hot);
    return this.latest;
  }

  /** Estimates one actor's state size; a capture that throws keeps the last estimate. */
  private estimate(a: MeteredActivation): number {
    const l = a.load;
    l.changed = false;
    l.sizedAt = this.samples;
    try {
      l.stateBytes = roughSize(a.behavior.capture(a.live!));
    } catch {
      // The type's snapshot form failed: a snapshot or a handoff would say so; keep the last estimate.
    }
    return l.stateBytes;
  }

  private collect(at: number, hot: TopN<MeteredActivation>): LoadSample {
    const shards: ShardSample[] = [];
    const totals: LoadTotals = { turnsPerSec: 0, mailbox: 0, actors: 0, stateBytes: 0 };
    for (let s = 0; s < this.used; s++) {
      const w = this.weight[s]!;
      const turnsPerSec = w > 0 ? this.ewma[s]! / w : 0;
      const mailbox = this.mailbox[s]!;
      const actors = this.actors[s]!;
      if (actors === 0 && mailbox === 0 && turnsPerSec < IDLE) continue;
      const stateBytes = this.bytes[s]!;
      shards.push({ shard: s, turnsPerSec, mailbox, actors, stateBytes });
      totals.turnsPerSec += turnsPerSec;
      totals.mailbox += mailbox;
      totals.actors += actors;
      totals.stateBytes += stateBytes;
    }
    const actors = hot.sorted().map((a) => ({ type: a.key.type, id: a.key.id, shard: a.load.shard, turnsPerSec: a.load.rate }));
    return { at, shards, hot: actors, totals };
  }

  private grow(shard: number): void {
    let size = this.counts.length;
    while (size <= shard) size *= 2;
    const bigger = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.counts = bigger(this.counts);
    this.ewma = bigger(this.ewma);
    this.weight = bigger(this.weight);
    this.mailbox = bigger(this.mailbox);
    this.actors = bigger(this.actors);
    this.bytes = bigger(this.bytes);
  }
}

function positive(name: string, v: number, zeroOk = false): number {
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk)) throw new RangeError(`load ${name} must be a positive number, got ${v}`);
  return v;
}
