import { ClusterEvents, type ClusterEvent } from "../../cluster/events.js";
import { clusterSubjects } from "../../src/nats-names.js";
import { parse, positiveInt } from "../args.js";
import { clusterSetting, connectionFlags, connectionSettings, Settings } from "../settings.js";
import { connectTo } from "../connect.js";

export const watchUsage = `shoal watch [--json] [--nats URL] [--cluster NAME] [--count N]

Prints the cluster's events as they happen, one line each: members joining, updating and
leaving, leaders elected and stepping down, maps published with their moves, and every
migration with its pause. --json prints each event as it is on shoal.<cluster>.events.
Runs until interrupted, or until --count events have been printed.`;

export async function runWatch(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    json: { type: "boolean" },
    ...connectionFlags,
    cluster: { type: "string" },
    count: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(watchUsage);
    return 0;
  }
  const settings = Settings.load(values, ["nats", "user", "password", "token", "creds", "tls-ca", "cluster"]);
  const { url, auth } = connectionSettings(settings);
  const cluster = clusterSetting(settings);
  const limit = values.count === undefined ? Infinity : positiveInt("count", values.count, 1);
  const nc = await connectTo(url, "shoal-watch", auth);
  let seen = 0;
  await new Promise<void>((done) => {
    const sub = ClusterEvents.subscribe(nc, cluster, (e) => {
      console.log(values.json ? JSON.stringify(e) : formatEvent(e));
      if (++seen >= limit) {
        sub.unsubscribe();
        done();
      }
    });
    process.once("SIGINT", () => done());
    process.once("SIGTERM", () => done());
    // On stderr even with --json (stdout stays pure JSON lines): says the subscription is live.
    void nc.flush().then(() => console.error(`watching ${clusterSubjects(cluster).events} on ${url} (Ctrl-C to stop)`));
  });
  await nc.close();
  return 0;
}

/** One readable line per event: time, node that said it, what happened. */
export function formatEvent(e: ClusterEvent): string {
  const t = new Date(e.at).toISOString().slice(11, 23);
  const what = (() => {
    switch (e.type) {
      case "member.joined":
        return `member ${e.member} joined (${e.state})`;
      case "member.updated":
        return `member ${e.member} is ${e.state}`;
      case "member.left":
        return `member ${e.member} left`;
      case "leader.elected":
        return `elected leader, epoch ${e.epoch}`;
      case "leader.stepped_down":
        return `stepped down (epoch ${e.epoch}): ${e.reason}`;
      case "map.published":
        return `map v${e.version} published${e.reason === "load" ? " for load" : ""}: ${e.moves} shard${e.moves === 1 ? "" : "s"} to move`;
      case "migration":
        return e.phase === "completed"
          ? `shard ${e.shard} ${e.from} → ${e.to}: ${e.actors} actor${e.actors === 1 ? "" : "s"}, paused ${e.ms} ms${e.tail ? `, ${e.tail} forwarded` : ""}`
          : `shard ${e.shard} ${e.from} → ${e.to} FAILED after ${e.ms} ms: ${e.reason ?? ""}`;
      case "hot":
        return formatHot(e);
      case "projection":
        return `projection ${e.projection} b${e.build}${e.partition === undefined ? "" : ` partition ${e.partition}`} ${e.phase}${e.error === undefined ? "" : `: ${e.error}`}`;
    }
  })();
  return `${t}  ${e.node.padEnd(10)}  ${what}`;
}

/** A `hot` event: the actors and shards that went over their thresholds. */
function formatHot(e: Extract<ClusterEvent, { type: "hot" }>): string {
  const actors = e.actors.map((a) => `${a.type} ${JSON.stringify(a.id)} ${a.turnsPerSec.toFixed(0)}/s on ${a.node}`);
  const shards = e.shards.map((s) => `shard ${s.shard} ${s.turnsPerSec.toFixed(0)}/s on ${s.node}`);
  return `hot: ${[...actors, ...shards].join(", ")}${e.more > 0 ? ` and ${e.more} more` : ""}`;
}
