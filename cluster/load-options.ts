/** How a node measures its load, reports it to the leader, and how the leader calls it hot. */
export interface LoadOptions {
  /** How often the node samples its load and reports it to the leader (ms). Default: the heartbeat interval. */
  reportInterval?: number;
  /** Half-life of the decayed turn rates (ms): a shard or actor that stops reads half its rate after it. Default 5000. */
  halfLife?: number;
  /** How many hot actors each node reports, and how many hot shards and actors status and metrics show. Default 10. */
  topN?: number;
  /** On the leader: an actor that runs this many turns per second or more is hot. Default 100. */
  hotActorTurnsPerSec?: number;
  /** On the leader: a shard whose actors run this many turns per second or more is hot. Default 1000. */
  hotShardTurnsPerSec?: number;
  /** On the leader: a hot actor or shard cools below its threshold × this (0 < ratio ≤ 1). Default 0.5. */
  coolRatio?: number;
  /** On the leader: least time between two `hot` cluster events (ms). Default 10 000. */
  hotEventInterval?: number;
}

/** The {@link LoadOptions} with every default filled in. */
export type ResolvedLoadOptions = Required<LoadOptions>;

/** Fills the defaults (`reportInterval` from `heartbeatInterval`) and checks ranges; a RangeError names a bad one. */
export function resolveLoadOptions(opts: LoadOptions | undefined, heartbeatInterval: number): ResolvedLoadOptions {
  const r: ResolvedLoadOptions = {
    reportInterval: opts?.reportInterval ?? heartbeatInterval,
    halfLife: opts?.halfLife ?? 5000,
    topN: opts?.topN ?? 10,
    hotActorTurnsPerSec: opts?.hotActorTurnsPerSec ?? 100,
    hotShardTurnsPerSec: opts?.hotShardTurnsPerSec ?? 1000,
    coolRatio: opts?.coolRatio ?? 0.5,
    hotEventInterval: opts?.hotEventInterval ?? 10_000,
  };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new RangeError(`load.${k} must be a positive number, got ${String(v)}`);
  }
  if (!Number.isInteger(r.topN) || r.topN > 100) throw new RangeError(`load.topN must be an integer from 1 to 100, got ${r.topN}`);
  if (r.coolRatio > 1) throw new RangeError(`load.coolRatio must be at most 1, got ${r.coolRatio}`);
  if (r.reportInterval > 10 * 60_000) throw new RangeError(`load.reportInterval must be at most 10 minutes, got ${r.reportInterval}`);
  return r;
}
