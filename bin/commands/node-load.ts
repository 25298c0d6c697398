import type { LoadOptions } from "../../cluster/load-options.js";
import { positiveInt } from "../args.js";
import type { Settings } from "../settings.js";

/** `shoal node`'s load flags, as its help lists them. */
export const nodeLoadHelp = `  --load-report MS  how often the node reports its load to the leader (env SHOAL_LOAD_REPORT; default the heartbeat)
  --hot-actor N     on the leader: an actor with N turns/s or more is hot (env SHOAL_HOT_ACTOR; default 100)
  --hot-shard N     on the leader: a shard with N turns/s or more is hot (env SHOAL_HOT_SHARD; default 1000)
  --hot-top N       hot actors each node reports, and hot shards and actors status shows (env SHOAL_HOT_TOP; default 10)`;

/** Config file keys of {@link nodeLoadHelp}'s flags. */
export const nodeLoadKeys = ["load-report", "hot-actor", "hot-shard", "hot-top"] as const;

/** The flags for `parse`. */
export const nodeLoadFlags = {
  "load-report": { type: "string" },
  "hot-actor": { type: "string" },
  "hot-shard": { type: "string" },
  "hot-top": { type: "string" },
} as const;

/** The node's `load` option from the flags (what is not given keeps its default); usage errors name the flag. */
export function nodeLoadSettings(s: Settings): LoadOptions {
  const opt = (flag: (typeof nodeLoadKeys)[number], env: string) => {
    const v = s.get(flag, [env]);
    return v === undefined ? undefined : positiveInt(flag, v, 0);
  };
  const out: LoadOptions = {};
  const reportInterval = opt("load-report", "SHOAL_LOAD_REPORT");
  const hotActorTurnsPerSec = opt("hot-actor", "SHOAL_HOT_ACTOR");
  const hotShardTurnsPerSec = opt("hot-shard", "SHOAL_HOT_SHARD");
  const topN = opt("hot-top", "SHOAL_HOT_TOP");
  if (reportInterval !== undefined) out.reportInterval = reportInterval;
  if (hotActorTurnsPerSec !== undefined) out.hotActorTurnsPerSec = hotActorTurnsPerSec;
  if (hotShardTurnsPerSec !== undefined) out.hotShardTurnsPerSec = hotShardTurnsPerSec;
  if (topN !== undefined) out.topN = topN;
  return out;
}
