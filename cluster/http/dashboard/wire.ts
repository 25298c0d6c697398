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
  /** Its roles (`shoal node --roles`), from its membership record. */
  roles: string[];
  /** What its ingress handled over its last 10 s (NodeStatus.requests.total), if it says. */
  requests?: Rates;
  /** Turns per second of its actors at its last load report. */
  turns?: unknown;
  /** False when the node did not answer its status (then only `state` is known, if that). */
  reachable: boolean;
}

/** Request rates (cluster/request-stats.ts RequestRates); numbers unchecked. */
export interface Rates {
  perSec: unknown;
  requests: unknown;
  errors: unknown;
  errorRatio: unknown;
  p50Ms: unknown;
  p99Ms: unknown;
  /** Errors by code, most first. */
  codes: Array<[string, unknown]>;
}

/** One actor type's requests over the cluster, with each node's part (cluster/cluster-requests.ts). */
export interface TypeRates extends Rates {
  type: string;
  nodes: Array<Rates & { node: string }>;
}

/** A shard of the leader's busiest (cluster/load-service.ts ShardLoadRow). */
export interface ShardRow {
  shard: number;
  node: string | null;
  turnsPerSec: unknown;
  actors: unknown;
  mailbox: unknown;
  stateBytes: unknown;
  hot: boolean;
}

/** An actor of the leader's hottest (HotActorRow). */
export interface ActorRow {
  type: string;
  id: string;
  shard: unknown;
  node: string | null;
  turnsPerSec: unknown;
  hot: boolean;
}

/** The leader's view of the load: `GET /cluster`'s `load`. */
export interface LoadPicture {
  shards: ShardRow[];
  actors: ActorRow[];
  shardThreshold: unknown;
  actorThreshold: unknown;
}

/** A role group of the map (cluster/cluster-status.ts GroupSummary). */
export interface GroupRow {
  roles: string[];
  types: string[];
  nodes: string[];
  shards: unknown;
  unowned: unknown;
}

/** A pinned tenant (PinSummary). */
export interface PinRow {
  type: string;
  tenant: string;
  /** Where it is pinned: `node N` or `role R`. */
  node: string | null;
  role: string | null;
  shard: unknown;
  owner: string | null;
  applied: boolean;
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
  /** Client requests per type over the cluster (each with its nodes), and all of them. */
  requests: { total: TypeRates | undefined; types: TypeRates[] };
  /** The leader's busiest shards and hottest actors; null when it did not say. */
  load: LoadPicture | null;
  groups: GroupRow[];
  pins: PinRow[];
}

/** Reads a `GET /cluster` answer; anything malformed counts as absent. */
export function readCluster(data: unknown): ClusterPicture {
  const view = isObject(data) ? data : {};
  const statuses = (Array.isArray(view.nodes) ? view.nodes : []).filter((s): s is Json & { node: string } => isObject(s) && typeof s.node === "string");
  const rows = new Map<string, NodeRow>();
  // Roles are in the membership records, which every status lists.
  const roles = new Map<string, string[]>();
  for (const s of statuses) {
    for (const m of Array.isArray(s.members) ? s.members : []) {
      if (isObject(m) && typeof m.id === "string" && !roles.has(m.id)) roles.set(m.id, strings(m.roles));
    }
  }
  for (const s of statuses) {
    const requests = isObject(s.requests) ? readRates(s.requests.total) : undefined;
    const turns = isObject(s.load) ? s.load.turnsPerSec : undefined;
    const row: NodeRow = {
      id: s.node,
      state: s.state,
      shards: s.shards,
      actors: s.actors,
      migrations: s.migrations,
      roles: roles.get(s.node) ?? [],
      reachable: true,
    };
    if (requests !== undefined) row.requests = requests;
    if (turns !== undefined) row.turns = turns;
    rows.set(s.node, row);
  }
  // A member that did not answer its status still gets a column, marked as such.
  for (const s of statuses) {
    for (const m of Array.isArray(s.members) ? s.members : []) {
      if (isObject(m) && typeof m.id === "string" && !rows.has(m.id))
        rows.set(m.id, { id: m.id, state: m.state, roles: roles.get(m.id) ?? [], reachable: false });
    }
  }
  for (const id of Array.isArray(view.unreachable) ? view.unreachable : []) {
    if (typeof id === "string" && !rows.has(id)) rows.set(id, { id, state: "unknown", roles: [], reachable: false });
  }
  let leader = typeof view.leader === "string" ? view.leader : null;
  if (leader === null) leader = statuses.find((s) => s.isLeader === true)?.node ?? null;
  return {
    rows,
    leader,
    epoch: view.epoch,
    mapVersion: view.mapVersion,
    builds: readBuilds(view.projections),
    at: isTime(view.at) ? view.at : undefined,
    requests: readRequests(view.requests),
    load: readLoad(view.load),
    groups: readGroups(view.groups),
    pins: readPins(view.pins),
  };
}

/** The strings of `v` (an array), at most 32. */
function strings(v: unknown): string[] {
  return (Array.isArray(v) ? v : []).filter((x): x is string => typeof x === "string").slice(0, 32);
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function readRates(v: unknown): Rates | undefined {
  if (!isObject(v)) return undefined;
  const codes = isObject(v.codes) ? Object.entries(v.codes).filter(([, n]) => isCount(n)) : [];
  codes.sort((a, b) => (b[1] as number) - (a[1] as number));
  return { perSec: v.perSec, requests: v.requests, errors: v.errors, errorRatio: v.errorRatio, p50Ms: v.p50Ms, p99Ms: v.p99Ms, codes };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

function readTypeRates(v: unknown, type: string): TypeRates | undefined {
  const rates = readRates(v);
  if (rates === undefined || !isObject(v)) return undefined;
  const nodes: TypeRates["nodes"] = [];
  for (const n of Array.isArray(v.nodes) ? v.nodes : []) {
    const r = readRates(n);
    if (r !== undefined && isObject(n) && typeof n.node === "string") nodes.push({ ...r, node: n.node });
  }
  return { ...rates, type, nodes };
}

function readRequests(v: unknown): ClusterPicture["requests"] {
  if (!isObject(v)) return { total: undefined, types: [] };
  const types: TypeRates[] = [];
  for (const t of Array.isArray(v.types) ? v.types : []) {
    const r = isObject(t) && typeof t.type === "string" ? readTypeRates(t, t.type) : undefined;
    if (r !== undefined) types.push(r);
  }
  return { total: readTypeRates(v.total, "all types"), types };
}

function readLoad(v: unknown): LoadPicture | null {
  if (!isObject(v)) return null;
  const shards: ShardRow[] = [];
  for (const s of Array.isArray(v.shards) ? v.shards : []) {
    if (!isObject(s) || !isIndex(s.shard)) continue;
    shards.push({
      shard: s.shard,
      node: str(s.node),
      turnsPerSec: s.turnsPerSec,
      actors: s.actors,
      mailbox: s.mailbox,
      stateBytes: s.stateBytes,
      hot: s.hot === true,
    });
  }
  const actors: ActorRow[] = [];
  for (const a of Array.isArray(v.actors) ? v.actors : []) {
    if (!isObject(a) || typeof a.type !== "string" || typeof a.id !== "string") continue;
    actors.push({ type: a.type, id: a.id, shard: a.shard, node: str(a.node), turnsPerSec: a.turnsPerSec, hot: a.hot === true });
  }
  return { shards, actors, shardThreshold: v.shardThreshold, actorThreshold: v.actorThreshold };
}

function readGroups(v: unknown): GroupRow[] {
  return (Array.isArray(v) ? v : [])
    .filter(isObject)
    .map((g) => ({ roles: strings(g.roles), types: strings(g.types), nodes: strings(g.nodes), shards: g.shards, unowned: g.unowned }));
}

function readPins(v: unknown): PinRow[] {
  const out: PinRow[] = [];
  for (const p of Array.isArray(v) ? v : []) {
    if (!isObject(p) || typeof p.type !== "string" || typeof p.tenant !== "string") continue;
    out.push({ type: p.type, tenant: p.tenant, node: str(p.node), role: str(p.role), shard: p.shard, owner: str(p.owner), applied: p.applied === true });
  }
  return out;
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
