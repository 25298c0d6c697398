/**
 * What the page reads from the node, as it arrives: `GET /cluster` (cluster/http/server.ts
 * ClusterView) and the events of `GET /events` (cluster/events.ts). Nothing is trusted: every
 * field is checked where it is used, and shown as text.
 */

/** A JSON object. */
export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** A cluster event: a `type` and whatever fields that type carries. */
export interface ClusterEvent extends Json {
  type: string;
}

/** `v` if it looks like a cluster event (an object with a string `type`). */
export function asEvent(v: unknown): ClusterEvent | undefined {
  return isObject(v) && typeof v.type === "string" ? (v as ClusterEvent) : undefined;
}

/** What the page knows of one node: its own status, or only its entry in another's member list. */
export interface NodeRow {
  id: string;
  state: unknown;
  shards?: unknown;
  actors?: unknown;
  migrations?: unknown;
  /** False when the node did not answer its status (then only `state` is known, if that). */
  reachable: boolean;
}

/** One partition of a projection's build (cluster/projection-status.ts PartitionReport); numbers unchecked. */
export interface PartitionRow {
  partition: number;
  /** The node holding it, or null when nobody does (or the field is not a string). */
  owner: string | null;
  /** Why it stopped, or null while it runs. */
  stopped: string | null;
  checkpoint: unknown;
  lag: unknown;
  lagSeconds: unknown;
  rate: unknown;
  applied: unknown;
  deadLettered: unknown;
  skipped: unknown;
  at: unknown;
}

/** One build of one projection: a row of the projections panel. */
export interface BuildRow {
  projection: string;
  build: number;
  role: "serving" | "building";
  partitions: PartitionRow[];
  /** The projection's dead letters waiting (the same for each of its builds). */
  deadLetters: unknown;
}

/** `GET /cluster` reduced to what the page shows. */
export interface ClusterPicture {
  rows: Map<string, NodeRow>;
  leader: string | null;
  epoch: unknown;
  mapVersion: unknown;
  /** Every build of every projection, in the order the node listed them. */
  builds: BuildRow[];
  /** When the node answered (ms, its clock), if it said. */
  at: number | undefined;
}

/** Reads a `GET /cluster` answer; anything malformed counts as absent. */
export function readCluster(data: unknown): ClusterPicture {
  const view = isObject(data) ? data : {};
  const statuses = (Array.isArray(view.nodes) ? view.nodes : []).filter((s): s is Json & { node: string } => isObject(s) && typeof s.node === "string");
  const rows = new Map<string, NodeRow>();
  for (const s of statuses) {
    rows.set(s.node, { id: s.node, state: s.state, shards: s.shards, actors: s.actors, migrations: s.migrations, reachable: true });
  }
  // A member that did not answer its status still gets a column, marked as such.
  for (const s of statuses) {
    for (const m of Array.isArray(s.members) ? s.members : []) {
      if (isObject(m) && typeof m.id === "string" && !rows.has(m.id)) rows.set(m.id, { id: m.id, state: m.state, reachable: false });
    }
  }
  for (const id of Array.isArray(view.unreachable) ? view.unreachable : []) {
    if (typeof id === "string" && !rows.has(id)) rows.set(id, { id, state: "unknown", reachable: false });
  }
  let leader = typeof view.leader === "string" ? view.leader : null;
  if (leader === null) leader = statuses.find((s) => s.isLeader === true)?.node ?? null;
  return { rows, leader, epoch: view.epoch, mapVersion: view.mapVersion, builds: readBuilds(view.projections), at: isTime(view.at) ? view.at : undefined };
}

const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** The builds of `ClusterView.projections`; a projection without a string name, or a build without a number and a role, is left out. */
function readBuilds(projections: unknown): BuildRow[] {
  const out: BuildRow[] = [];
  for (const p of Array.isArray(projections) ? projections : []) {
    if (!isObject(p) || typeof p.name !== "string") continue;
    for (const b of Array.isArray(p.builds) ? p.builds : []) {
      if (!isObject(b) || !isIndex(b.build) || (b.role !== "serving" && b.role !== "building")) continue;
      const partitions = (Array.isArray(b.partitions) ? b.partitions : []).filter(
        (r): r is Json & { partition: number } => isObject(r) && isIndex(r.partition),
      );
      out.push({ projection: p.name, build: b.build, role: b.role, partitions: partitions.map(readPartition), deadLetters: p.deadLetters });
    }
  }
  return out;
}

function readPartition(r: Json & { partition: number }): PartitionRow {
  const { partition, checkpoint, lag, lagSeconds, rate, applied, deadLettered, skipped, at } = r;
  const owner = typeof r.owner === "string" ? r.owner : null;
  // A partition that stopped says why; anything but a string there still counts as stopped.
  const stopped = r.stopped === null || r.stopped === undefined ? null : typeof r.stopped === "string" ? r.stopped : "(no reason given)";
  return { partition, owner, stopped, checkpoint, lag, lagSeconds, rate, applied, deadLettered, skipped, at };
}
