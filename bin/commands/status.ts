import { formatTable } from "../table.js";
import type { ProjectionReport } from "../../cluster/projection-status.js";
import { gatherClusterStatus, type ClusterStatus } from "../../cluster/cluster-status.js";
import { parse, positiveInt } from "../args.js";
import { readCluster } from "../read-cluster.js";
import { connectionFlags } from "../settings.js";
import { formatLoad } from "./status-load.js";

export const statusUsage = `shoal status [--json] [--nats URL] [--cluster NAME] [--timeout MS]

Shows the cluster: leader, epoch, map version, and each node with its state, shards, active
actors, migrations in flight and the actor types it hosts; then each singleton and the node
that runs it; then the load the leader has from the nodes' reports (turns/s, waiting
messages, actors and state per node, the busiest shards and the hottest actors, HOT when over
their threshold). Warns when nodes host different types, and when a singleton runs nowhere or
on more than one node. --json prints one JSON object ({cluster, leader, epoch, mapVersion,
shardCount, unowned, migrations, nodes: [{id, state, shards, actors, migrations, reachable,
types, roles}], groups: [{roles, types, nodes, shards, unowned}], pins: [{type, tenant,
node?, role?, shard, owner, applied}], typeMismatches, singletons: [{type, nodes, owner}],
projections, load: {nodes, shards, actors, actorThreshold, shardThreshold} | null}). A role
group is the shards of the actor types bound to a set of roles; status warns when no node has
one of its roles.`;

export async function runStatus(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    json: { type: "boolean" },
    ...connectionFlags,
    cluster: { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(statusUsage);
    return 0;
  }
  const timeout = positiveInt("timeout", values.timeout, 1000);
  return readCluster(values, "shoal-status", async (nc, cluster) => {
    const status = await gatherClusterStatus(nc, cluster, timeout);
    return values.json ? JSON.stringify(status) : formatStatus(status);
  });
}

/** The human-readable table. */
export function formatStatus(s: ClusterStatus): string {
  const head = `cluster ${s.cluster}   leader ${s.leader ?? "(none)"}${s.epoch === null ? "" : ` (epoch ${s.epoch})`}   map v${s.mapVersion ?? "-"}   shards ${s.shardCount ?? "-"}${s.unowned > 0 ? ` (${s.unowned} unowned)` : ""}   migrations ${s.migrations}`;
  const rows = s.nodes.map((n) => [
    n.id + (n.id === s.leader ? " *" : ""),
    n.state,
    String(n.shards),
    n.actors === null ? "?" : String(n.actors),
    n.migrations === null ? "?" : String(n.migrations),
    n.types === null ? "?" : n.types.join(","),
    (n.roles ?? []).join(",") || "-",
    n.reachable ? "" : "(not answering)",
  ]);
  const groups = s.groups ?? [];
  const warnings = [
    ...groups
      .filter((g) => g.nodes.length === 0)
      .map(
        (g) =>
          `warning: no node has role ${g.roles.join(" or ")}, which actor type${g.types.length === 1 ? "" : "s"} ${g.types.join(", ") || "(none now)"} run${g.types.length === 1 ? "s" : ""} on: calls to them fail with UNAVAILABLE`,
      ),
    ...(s.pins ?? []).filter((p) => !p.applied).map(pinFallback),
    ...s.typeMismatches.map(
      (m) =>
        `warning: actor type ${m.type} is hosted on ${m.hostedBy.join(", ")} but not on ${m.missingOn.join(", ")}: its actors whose shard lands there fail with UNKNOWN_ACTOR_TYPE (every node must host the same types)`,
    ),
  ];
  return [
    head,
    "",
    ...formatTable(["NODE", "STATE", "SHARDS", "ACTORS", "MIGRATIONS", "TYPES", "ROLES", ""], rows),
    s.nodes.length === 0 ? "(no members)" : "",
    ...formatGroups(groups),
    ...formatSingletons(s.singletons ?? []),
    ...formatProjectionSummary(s.projections ?? []),
    ...formatLoad(s.load),
    ...warnings,
  ]
    .join("\n")
    .trimEnd();
}

/** The warning for a pinned tenant that runs elsewhere than its pin says. */
export function pinFallback(p: { type: string; tenant: string; node?: string; role?: string; owner: string | null }): string {
  const to = p.node !== undefined ? `node ${p.node}` : `role ${p.role}`;
  return `warning: ${p.type} tenant ${JSON.stringify(p.tenant.slice(0, 64))} is pinned to ${to}, which cannot take it now: it runs on ${p.owner ?? "no node"}`;
}

/** The role groups' table (nothing when no type has roles): roles, types, hosting nodes, shards. */
function formatGroups(groups: ClusterStatus["groups"]): string[] {
  if (groups.length === 0) return [];
  const rows = groups.map((g) => [
    g.roles.join(","),
    g.types.join(",") || "-",
    g.nodes.join(",") || "(none)",
    `${g.shards}${g.unowned > 0 ? ` (${g.unowned} unowned)` : ""}`,
  ]);
  return [...formatTable(["ROLES", "TYPES", "NODES", "SHARDS"], rows), ""];
}

/** The singletons' table (nothing when there are none): each with the node that runs it. */
function formatSingletons(singletons: ClusterStatus["singletons"]): string[] {
  if (singletons.length === 0) return [];
  const where = (g: ClusterStatus["singletons"][number]) =>
    g.nodes.length === 1
      ? g.nodes[0]!
      : g.nodes.length === 0
        ? `(not running; its shard's owner is ${g.owner ?? "nobody"})`
        : `${g.nodes.join(", ")} (more than one!)`;
  const width = Math.max("SINGLETON".length, ...singletons.map((g) => g.type.length));
  return [`${"SINGLETON".padEnd(width)}  NODE`, ...singletons.map((g) => `${g.type.padEnd(width)}  ${where(g)}`), ""];
}

/** One line per projection: builds, partitions running, worst lag, total rate, dead letters. */
function formatProjectionSummary(projections: readonly ProjectionReport[]): string[] {
  if (projections.length === 0) return [];
  const rows = projections.flatMap((p) =>
    p.builds.map((b) => {
      const owned = b.partitions.filter((r) => r.owner !== null && r.stopped === null).length;
      const stopped = b.partitions.filter((r) => r.stopped !== null).length;
      return [
        `${p.name} b${b.build}${b.role === "building" ? " (building)" : ""}`,
        `${owned}/${b.partitions.length}${stopped > 0 ? ` (${stopped} stopped)` : ""}`,
        String(Math.max(0, ...b.partitions.map((r) => r.lag))),
        Math.max(0, ...b.partitions.map((r) => r.lagSeconds)).toFixed(1),
        b.partitions.reduce((n, r) => n + r.rate, 0).toFixed(0),
        b.role === "serving" ? String(p.deadLetters) : "",
      ];
    }),
  );
  return ["", ...formatTable(["PROJECTION", "PARTITIONS", "LAG", "LAG S", "RATE", "DEAD LETTERS"], rows)];
}
