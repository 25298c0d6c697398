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

/** `GET /cluster` reduced to what the page shows. */
export interface ClusterPicture {
  rows: Map<string, NodeRow>;
  leader: string | null;
  epoch: unknown;
  mapVersion: unknown;
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
  return { rows, leader, epoch: view.epoch, mapVersion: view.mapVersion };
}
