import type { ClusterLoadSummary } from "../../cluster/load-service.js";
import { formatTable } from "../table.js";

/**
 * The load part of `shoal status`, as the leader has it: turns per second, waiting messages,
 * actors and state per node, then the busiest shards and the hottest actors (top N), those over
 * their threshold marked HOT. Nothing when the leader said nothing (it did not answer, or is
 * older than load reports).
 */
export function formatLoad(load: ClusterLoadSummary | null | undefined): string[] {
  if (load === null || load === undefined) return [];
  const nodes = load.nodes.map((n) => [n.node, rate(n.turnsPerSec), String(n.mailbox), String(n.actors), bytes(n.stateBytes), String(n.shards)]);
  const out = ["", ...formatTable(["LOAD", "TURNS/S", "MAILBOX", "ACTORS", "STATE", "SHARDS"], nodes)];
  if (load.nodes.length === 0) out.push("(no load reports yet)");
  if (load.shards.length > 0) {
    const rows = load.shards.map((s) => [
      String(s.shard),
      s.node,
      rate(s.turnsPerSec),
      String(s.mailbox),
      String(s.actors),
      bytes(s.stateBytes),
      s.hot ? "HOT" : "",
    ]);
    out.push("", ...formatTable([`BUSIEST SHARD (hot ≥ ${rate(load.shardThreshold)}/s)`, "NODE", "TURNS/S", "MAILBOX", "ACTORS", "STATE", ""], rows));
  }
  if (load.actors.length > 0) {
    const rows = load.actors.map((a) => [`${a.type} ${JSON.stringify(a.id)}`, String(a.shard), a.node, rate(a.turnsPerSec), a.hot ? "HOT" : ""]);
    out.push("", ...formatTable([`HOTTEST ACTOR (hot ≥ ${rate(load.actorThreshold)}/s)`, "SHARD", "NODE", "TURNS/S", ""], rows));
  }
  return out;
}

/** Turns per second: one decimal below 100, none above. */
function rate(x: number): string {
  return x < 100 ? x.toFixed(1) : x.toFixed(0);
}

/** Bytes as B, KB, MB or GB (powers of 1024). */
function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
