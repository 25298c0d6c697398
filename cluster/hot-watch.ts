import type { Clock } from "../src/clock.js";
import type { ClusterLoad, HotActor, ShardLoad } from "./cluster-load.js";

/**
 * A `hot` cluster event: actors and shards that went over their turn-rate thresholds since the
 * last one. Published by the leader, at most one per `hotEventInterval`.
 */
export interface HotEventBody {
  type: "hot";
  /** Actors that became hot since the last `hot` event, hottest first (at most 10). */
  actors: HotActor[];
  /** Shards that became hot since the last `hot` event, hottest first (at most 10). */
  shards: ShardLoad[];
  /** Actors and shards that became hot too but are left out of the lists. */
  more: number;
  /** Turns per second at or over which an actor is hot. */
  actorThreshold: number;
  /** Turns per second at or over which a shard is hot. */
  shardThreshold: number;
}

/** What {@link HotWatch} needs. */
export interface HotWatchOptions {
  clock: Clock;
  /** Turns per second at or over which an actor becomes hot. */
  actorThreshold: number;
  /** Turns per second at or over which a shard becomes hot. */
  shardThreshold: number;
  /** A hot actor or shard cools only below its threshold × this (0 < ratio ≤ 1): the hysteresis. */
  coolRatio: number;
  /** Least time between two `hot` events (ms). */
  interval: number;
  /** Publishes a `hot` event. */
  publish: (body: HotEventBody) => void;
  /** How long a hot actor that no report lists any more stays hot (ms). Default 30 s. */
  forgetAfter?: number;
}

/** Actors and shards listed per event. */
const LISTED = 10;

/** One hot actor or shard: its last figures, when a report last listed it, whether it was announced. */
interface Hot<T> {
  item: T;
  seen: number;
  announced: boolean;
}

/**
 * Which actors and shards are hot, and the `hot` events that say so. An actor or shard becomes
 * hot at its threshold and stays hot until it falls below threshold × `coolRatio` (so a rate
 * around the threshold does not flap). Whatever became hot is announced in the next event; an
 * event goes out at most once per `interval`, listing everything that became hot meanwhile and
 * is still hot then (a spike that cooled before its event is not announced). A shard no report
 * lists has cooled (every node reports every shard with load); an actor no report lists any more
 * (it passivated, moved out of its node's top list, or its node went) is forgotten after
 * `forgetAfter`.
 */
export class HotWatch {
  private readonly actors = new Map<string, Hot<HotActor>>();
  private readonly shards = new Map<number, Hot<ShardLoad>>();
  private lastEvent = Number.NEGATIVE_INFINITY;
  private readonly forgetAfter: number;

  constructor(private readonly opts: HotWatchOptions) {
    this.forgetAfter = opts.forgetAfter ?? 30_000;
  }

  /** Whether an actor is hot now. */
  isHotActor(type: string, id: string): boolean {
    return this.actors.has(actorKey(type, id));
  }

  /** Whether a shard is hot now. */
  isHotShard(shard: number): boolean {
    return this.shards.has(shard);
  }

  /** Forgets everything (this node stopped leading; the next leader judges afresh). */
  reset(): void {
    this.actors.clear();
    this.shards.clear();
  }

  /** Judges `load` as it is now (call it after each report), and publishes a `hot` event when one is due. */
  check(load: ClusterLoad): void {
    const now = this.opts.clock.now();
    const { actorThreshold, shardThreshold, coolRatio } = this.opts;
    for (const a of load.hot(Number.POSITIVE_INFINITY)) this.judge(this.actors, actorKey(a.type, a.id), a, a.turnsPerSec, actorThreshold, coolRatio, now);
    for (const [k, h] of this.actors) if (now - h.seen > this.forgetAfter) this.actors.delete(k);
    const shards = load.shards();
    for (const s of shards.values()) this.judge(this.shards, s.shard, s, s.turnsPerSec, shardThreshold, coolRatio, now);
    for (const k of this.shards.keys()) if (!shards.has(k)) this.shards.delete(k);
    if (now - this.lastEvent >= this.opts.interval) this.announce(now);
  }

  private judge<K, T>(hot: Map<K, Hot<T>>, key: K, item: T, rate: number, threshold: number, coolRatio: number, now: number): void {
    const h = hot.get(key);
    if (h === undefined) {
      if (rate >= threshold) hot.set(key, { item, seen: now, announced: false });
    } else if (rate < threshold * coolRatio) {
      hot.delete(key);
    } else {
      h.item = item;
      h.seen = now;
    }
  }

  private announce(now: number): void {
    const actors = unannounced(this.actors).sort((a, b) => b.turnsPerSec - a.turnsPerSec);
    const shards = unannounced(this.shards).sort((a, b) => b.turnsPerSec - a.turnsPerSec);
    if (actors.length === 0 && shards.length === 0) return;
    this.lastEvent = now;
    const more = Math.max(0, actors.length - LISTED) + Math.max(0, shards.length - LISTED);
    const { actorThreshold, shardThreshold } = this.opts;
    this.opts.publish({ type: "hot", actors: actors.slice(0, LISTED), shards: shards.slice(0, LISTED), more, actorThreshold, shardThreshold });
  }
}

/** The items of `hot` not yet announced, now marked announced. */
function unannounced<T>(hot: Map<unknown, Hot<T>>): T[] {
  const out: T[] = [];
  for (const h of hot.values()) {
    if (h.announced) continue;
    h.announced = true;
    out.push({ ...h.item });
  }
  return out;
}

function actorKey(type: string, id: string): string {
  return `${type}\u0000${id}`;
}
