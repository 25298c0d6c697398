import { formatTable } from "../table.js";
import { msgpack } from "../../src/codec/msgpack.js";
import { silentLogger } from "../../src/log.js";
import { clusterBuckets } from "../../src/nats-names.js";
import { KvReminderStorage } from "../../src/reminders/kv-storage.js";
import type { StoredReminder } from "../../src/reminders/storage.js";
import { shardIn } from "../../src/routing/actor-shard.js";
import { UsageError } from "../args.js";
import { actorArgs, operatorArgs, readCluster } from "../read-cluster.js";
import { requireStoredMap } from "../../cluster/cluster-status.js";

export const remindersUsage = `shoal reminders list <type> <id> [--json] [--nats URL] [--cluster NAME]

Lists an actor's durable reminders as the cluster stores them: name, when each is next due,
its schedule (once, every N ms, or cron) and the message it sends. --json prints an array of
{name, due, every?, cron?, tz?, msg, firing} (due in ms since the epoch; firing counts the
firings since it was set).

  example: shoal reminders list alarm kitchen`;

/** Runs `shoal reminders list`. */
export async function runReminders(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, remindersUsage);
  if (given === undefined) return 0;
  const { values, positionals } = given;
  if (positionals[0] !== "list") throw new UsageError("reminders takes list <type> <id>");
  const { type, id } = actorArgs(positionals.slice(1), "reminders list");
  return readCluster(values, "shoal-reminders", async (nc, cluster) => {
    const buckets = clusterBuckets(cluster);
    const map = await requireStoredMap(nc, cluster);
    const storage = await KvReminderStorage.attach({ nc, bucket: buckets.reminders, codec: msgpack, log: silentLogger });
    const list = await storage.listActor(shardIn(map, type, id), type, id);
    return values.json ? JSON.stringify(list.map(shown)) : formatReminders(list);
  });
}

function shown(r: StoredReminder) {
  const base = { name: r.name, due: r.due, msg: r.msg, firing: r.n };
  if (r.every !== undefined) return { ...base, every: r.every };
  if (r.cron !== undefined) return { ...base, cron: r.cron, tz: r.tz };
  return base;
}

/** The human-readable table. */
export function formatReminders(list: readonly StoredReminder[]): string {
  if (list.length === 0) return "no reminders";
  const rows = list.map((r) => [
    r.name,
    new Date(r.due).toISOString(),
    r.every !== undefined ? `every ${r.every} ms` : r.cron !== undefined ? `cron ${r.cron} ${r.tz ?? "UTC"}` : "once",
    JSON.stringify(r.msg),
  ]);
  return formatTable(["NAME", "NEXT DUE", "SCHEDULE", "MESSAGE"], rows).join("\n");
}
