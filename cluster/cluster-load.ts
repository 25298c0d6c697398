import type { Clock } from "../src/clock.js";
import type { LoadReport } from "./load-report.js";

/** One shard's load in the cluster, as the leader last heard it. */
export interface ShardLoad {
  /** The shard's number. */
  shard: number;
  /**
   * The node that reported most of its turns (its owner, but for a moment around a move, when
   * both the old and the new owner may report it).
   */
  node: string;
  /** Turns started per second (decayed), summed over the nodes that report the shard. */
  turnsPerSec: number;
  /** Messages waiting in its actors' mailboxes, summed likewise. */
  mailbox: number;
  /** Its actors in memory, summed likewise. */
  actors: number;
  /** Estimated bytes of its actors' state (snapshot form; see `LoadMeter`), summed likewise. */
  stateBytes: number;
}

/** One of the hottest actors of the cluster, as its node last reported it. */
export interface HotActor {
  /** Its actor type. */
  type: string;
  /** Its id. */
  id: string;
  /** Its shard. */
  shard: number;
  /** The node that reported it (where it runs). */
  node: string;
  /** Turns started per second (decayed). */
  turnsPerSec: number;
}

/** One node's load: the sums over the shards it reported. */
export interface NodeLoad {
  /** The node's id. */
  node: string;
  /** Turns started per second (decayed) over its shards. */
  turnsPerSec: number;
  /** Messages waiting in its actors' mailboxes. */
  mailbox: number;
  /** Its actors in memory. */
  actors: number;
  /** Estimated bytes of its actors' state (snapshot form). */
  stateBytes: number;
  /** Shards it reported (those with actors, waiting messages or turns there). */
  shards: number;
  /** How old the report is (ms): since the leader received it, or since the node sampled its own. */
  age: number;
}

/** What {@link ClusterLoad} needs. */
export interface ClusterLoadOptions {
  clock: Clock;
  /** Whether `id` is a member now: reports of anyone else are refused. */
  isMember: (id: string) => boolean;
}

/** A report kept, with when it arrived and its node's sums. */
interface Kept {
  report: LoadReport;
  received: number;
  expires: number;
  totals: Omit<NodeLoad, "age">;
}

/** What the answers are computed from, until the reports change. */
interface Aggregate {
  shards: Map<number, ShardLoad>;
  rates: Map<number, number>;
  /** Every shard, hottest first. */
  byRate: ShardLoad[];
  /** Every reported hot actor (one entry per actor), hottest first. */
  hot: HotActor[];
}

/** A report is dropped once this many of its node's report intervals pass without a new one. */
const STALE_INTERVALS = 3;

/**
 * The cluster's load as the leader sees it: the latest load report of each live member, and
 * answers computed from them — per shard, per node, the hottest actors. A report replaces its
 * node's previous one; a member that leaves is forgotten ({@link forget}), and a report older
 * than three of its node's intervals is dropped (a frozen or cut-off node). The answers are
 * computed once per change and shared until the next, so asking is cheap however often.
 *
 * Fed only on the leader (`LoadService` subscribes to the reports while this node leads);
 * elsewhere it stays empty.
 */
export class ClusterLoad {
  private readonly kept = new Map<string, Kept>();
  private cache: Aggregate | undefined;

  constructor(private readonly opts: ClusterLoadOptions) {}

  /** Keeps `report` as its node's latest; false (and nothing kept) when the node is not a member. */
  accept(report: LoadReport): boolean {
    if (!this.opts.isMember(report.node)) return false;
    const received = this.opts.clock.now();
    const totals = { node: report.node, turnsPerSec: 0, mailbox: 0, actors: 0, stateBytes: 0, shards: report.shards.length };
    for (const s of report.shards) {
      totals.turnsPerSec += s.turnsPerSec;
      totals.mailbox += s.mailbox;
      totals.actors += s.actors;
      totals.stateBytes += s.stateBytes;
    }
    this.kept.set(report.node, { report, received, expires: received + STALE_INTERVALS * report.every, totals });
    this.cache = undefined;
    return true;
  }

  /** Drops a node's report (it left the cluster). */
  forget(node: string): void {
    if (this.kept.delete(node)) this.cache = undefined;
  }

  /** Drops every report (this node stopped leading). */
  clear(): void {
    this.kept.clear();
    this.cache = undefined;
  }

  /** Nodes whose reports are kept now. */
  get reporting(): number {
    this.expire();
    return this.kept.size;
  }

  /** Every reported shard's load, by shard number. */
  shards(): ReadonlyMap<number, ShardLoad> {
    return this.aggregate().shards;
  }

  /**
   * Turns per second of every reported shard, by shard number (what a load-aware planner
   * weighs). A shard that is absent has no actors, messages or turns on any reporting node: 0.
   */
  turnRates(): ReadonlyMap<number, number> {
    return this.aggregate().rates;
  }

  /** The `n` busiest shards, by turns per second, hottest first. */
  hotShards(n = 10): ShardLoad[] {
    return this.aggregate().byRate.slice(0, n);
  }

  /** The `n` hottest actors the nodes reported (each node reports its own top actors), hottest first. */
  hot(n = 10): HotActor[] {
    return this.aggregate().hot.slice(0, n);
  }

  /** Each reporting node's sums, by node id. */
  nodes(): NodeLoad[] {
    this.expire();
    const now = this.opts.clock.now();
    return [...this.kept.values()].map((k) => ({ ...k.totals, age: now - k.received })).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** Drops the reports whose time is up. */
  private expire(): void {
    const now = this.opts.clock.now();
    for (const [node, k] of this.kept) {
      if (now < k.expires) continue;
      this.kept.delete(node);
      this.cache = undefined;
    }
  }

  private aggregate(): Aggregate {
    this.expire();
    if (this.cache !== undefined) return this.cache;
    const shards = new Map<number, ShardLoad>();
    /** The turns/s of the node a shard names (the one that reported most of them). */
    const lead = new Map<number, number>();
    const actors = new Map<string, HotActor>();
    for (const { report } of this.kept.values()) {
      for (const s of report.shards) {
        const had = shards.get(s.shard);
        if (had === undefined) {
          shards.set(s.shard, {
            shard: s.shard,
            node: report.node,
            turnsPerSec: s.turnsPerSec,
            mailbox: s.mailbox,
            actors: s.actors,
            stateBytes: s.stateBytes,
          });
          lead.set(s.shard, s.turnsPerSec);
          continue;
        }
        had.turnsPerSec += s.turnsPerSec;
        had.mailbox += s.mailbox;
        had.actors += s.actors;
        had.stateBytes += s.stateBytes;
        if (s.turnsPerSec > lead.get(s.shard)!) {
          had.node = report.node;
          lead.set(s.shard, s.turnsPerSec);
        }
      }
      for (const a of report.hot) {
        // An actor two nodes list (it just moved): the busier report stands.
        const key = `${a.type}\u0000${a.id}`;
        const had = actors.get(key);
        if (had === undefined || a.turnsPerSec > had.turnsPerSec) actors.set(key, { ...a, node: report.node });
      }
    }
    const byRate = [...shards.values()].sort((a, b) => b.turnsPerSec - a.turnsPerSec || a.shard - b.shard);
    const rates = new Map<number, number>();
    for (const [shard, s] of shards) rates.set(shard, s.turnsPerSec);
    const hot = [...actors.values()].sort((a, b) => b.turnsPerSec - a.turnsPerSec);
    this.cache = { shards, rates, byRate, hot };
    return this.cache;
  }
}
