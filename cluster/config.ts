import { DEFAULT_SHARD_COUNT } from "../src/routing/shard-hash.js";

/** Timing and sizing of a cluster node. Durations in ms, named for what they bound. */
export interface ClusterTiming {
  /** Fixed per cluster, recorded at creation. */
  shardCount: number;
  /** This node's capacity relative to others (placement gives it shards in proportion). */
  weight: number;
  /** How often a node refreshes its membership record. */
  heartbeatInterval: number;
  /** A member not heard from for this long has left (and loses its shards). */
  memberTtl: number;
  /** The leader's lease: renewed every leaderTtl/3; a leader that cannot renew steps down before it ends. */
  leaderTtl: number;
  /** Quiet time after a membership change before the leader plans, so bursts yield one plan. */
  rebalanceDebounce: number;
  /**
   * How often a node probes the peers it watches for a closed connection (the leader: every
   * member; the others: the leader). Only a *no responders* answer counts; see `probeConfirm`.
   */
  probeInterval: number;
  /**
   * A peer whose status subject has no subscriber on two probes at least this far apart has
   * crashed, and is declared gone without waiting `memberTtl`. Longer than a live node takes to
   * reconnect to another NATS server when its own server dies.
   */
  probeConfirm: number;
}

/**
 * What a node uses for the {@link ClusterTiming} it is not given: 1024 shards, weight 1, a
 * heartbeat every second, members and the leader lease lost after 3 s of silence, a 250 ms
 * debounce before re-planning, and crashed peers found by probes every 250 ms, confirmed 300 ms
 * later.
 */
export const defaultTiming: Readonly<ClusterTiming> = Object.freeze({
  shardCount: DEFAULT_SHARD_COUNT,
  weight: 1,
  heartbeatInterval: 1000,
  memberTtl: 3000,
  leaderTtl: 3000,
  rebalanceDebounce: 250,
  probeInterval: 250,
  probeConfirm: 300,
});

/** Fills defaults and checks the relations the protocols rely on. */
export function resolveTiming(overrides: Partial<ClusterTiming> = {}): ClusterTiming {
  const t: ClusterTiming = { ...defaultTiming };
  for (const k of Object.keys(defaultTiming) as Array<keyof ClusterTiming>) {
    if (overrides[k] !== undefined) t[k] = overrides[k]!;
  }
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`${k} must be a positive number, got ${String(v)}`);
  }
  if (!Number.isInteger(t.shardCount)) throw new RangeError("shardCount must be an integer");
  if (t.heartbeatInterval * 2 > t.memberTtl) {
    throw new RangeError(`memberTtl (${t.memberTtl}) must be at least twice heartbeatInterval (${t.heartbeatInterval})`);
  }
  return t;
}
