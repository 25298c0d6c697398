import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { UnavailableError } from "../src/errors.js";
import { clusterBuckets } from "../src/nats-names.js";
import { ownerIn } from "../src/routing/actor-shard.js";
import { decodeMap, type ShardMap } from "../src/routing/shard-map.js";
import type { ClusterLoadSummary } from "./load-service.js";
import { decodeMemberRecord, type MemberRecord } from "./membership.js";
import { requestStatus, type NodeStatus } from "./status.js";
import { gatherProjectionStatus, type ProjectionReport } from "./projection-status.js";

/** One row of `shoal status`. */
export interface NodeSummary {
  id: string;
  state: MemberRecord["state"];
  /** Shards this node owns in the stored map. */
  shards: number;
  /** Active actors (null when the node did not answer). */
  actors: number | null;
  /** Shards it is sending or receiving right now (null when it did not answer). */
  migrations: number | null;
  /** Whether it answered its status request. */
  reachable: boolean;
  /** The actor types it hosts, from its membership record (null when the record does not say). */
  types: string[] | null;
  /** Its roles (`shoal node --roles`), sorted; empty when it has none. */
  roles: string[];
}

/** One role group of the map: the types bound to a role set, and the nodes that host them. */
export interface GroupSummary {
  roles: string[];
  types: string[];
  /** Members with one of the roles that may own shards (not draining), sorted; empty: its types' calls fail. */
  nodes: string[];
  /** Its shards, and how many of them no node owns in the stored map. */
  shards: number;
  unowned: number;
}

/** One singleton type of the cluster, and where it runs. */
export interface SingletonSummary {
  type: string;
  /**
   * The nodes that report it running now: one when all is well; none while it starts or moves
   * (or when its owner did not answer). It runs only where its shard's owner fence lets it act.
   */
  nodes: string[];
  /** Its shard's owner in the stored map: the node it should run on (null when none). */
  owner: string | null;
}

/** A pinned tenant as the stored map places it. */
export interface PinSummary {
  type: string;
  tenant: string;
  node?: string;
  role?: string;
  shard: number;
  /** The shard's owner in the stored map. */
  owner: string | null;
  /** Whether the owner is where the pin says (false: its node or role cannot take it, so it fell back). */
  applied: boolean;
}

/** What `shoal status --json` prints. */
export interface ClusterStatus {
  cluster: string;
  leader: string | null;
  epoch: number | null;
  mapVersion: number | null;
  shardCount: number | null;
  /** Shards no node owns in the stored map (mid-rebalance, or no members), role groups with no node to host them aside. */
  unowned: number;
  /** The role groups (actor types bound to roles), in the map's order; empty when no type has roles. */
  groups: GroupSummary[];
  /** The pinned tenants of the map (`shoal pin`), each with where it runs. */
  pins: PinSummary[];
  migrations: number;
  nodes: NodeSummary[];
  /**
   * Actor types some nodes host and others do not (each with the nodes that host it). Every
   * node must host the same types: an actor whose shard lands on a node without its type fails
   * with UNKNOWN_ACTOR_TYPE. Empty when they agree.
   */
  typeMismatches: Array<{ type: string; hostedBy: string[]; missingOn: string[] }>;
  /** Every singleton type the answering nodes host, sorted, with the node that runs it. */
  singletons: SingletonSummary[];
  /** The cluster's projections, lag as each partition last reported it (`shoal projection status` counts it now). */
  projections: ProjectionReport[];
  /** The cluster's load as the leader has it (per node, busiest shards, hottest actors); null when the leader did not say. */
  load?: ClusterLoadSummary | null;
}

/** The singletons of the answering nodes' statuses: each with the nodes that run it and its shard's owner in `map`. */
export function singletonSummaries(statuses: readonly NodeStatus[], map: ShardMap | undefined): SingletonSummary[] {
  const running = new Map<string, string[]>();
  for (const s of statuses) {
    for (const one of s.singletons ?? []) {
      const nodes = running.get(one.type) ?? [];
      if (one.running) nodes.push(s.node);
      running.set(one.type, nodes);
    }
  }
  return [...running]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, nodes]) => ({ type, nodes: nodes.sort(), owner: map === undefined ? null : ownerIn(map, type, type) }));
}

/** The membership records in the members bucket (a record that cannot be read is not a member to show). */
export async function readMemberRecords(members: Pick<KV, "keys" | "get">): Promise<MemberRecord[]> {
  const records: MemberRecord[] = [];
  for await (const key of await members.keys()) {
    const e = await members.get(key);
    const record = e !== null && e.operation === "PUT" ? decodeMemberRecord(e.value) : undefined;
    if (record !== undefined) records.push(record);
  }
  return records;
}

/** The shard map stored in the map bucket (undefined before the first). */
export async function readStoredMap(mapKv: Pick<KV, "get">): Promise<ShardMap | undefined> {
  const entry = await mapKv.get("map");
  return entry !== null && entry.operation === "PUT" ? decodeMap(entry.value) : undefined;
}

/** The cluster's stored shard map, read by an operator's tool; an error naming the cluster when there is none yet. */
export async function requireStoredMap(nc: NatsConnection, cluster: string): Promise<ShardMap> {
  const map = await readStoredMap(await new Kvm(nc).open(clusterBuckets(cluster).map));
  if (map === undefined) throw new Error(`cluster ${cluster} has no shard map yet`);
  return map;
}

/** The map's role groups, each with the members that may host it and its unowned shards. */
export function groupSummaries(map: ShardMap | undefined, records: readonly MemberRecord[]): GroupSummary[] {
  return (map?.groups ?? []).map((g) => {
    let unowned = 0;
    for (let s = g.base; s < g.base + g.size; s++) if (map!.owners[s] === null) unowned++;
    const nodes = records
      .filter((r) => r.state !== "draining" && r.roles?.some((x) => g.roles.includes(x)) === true)
      .map((r) => r.id)
      .sort();
    return { roles: [...g.roles], types: [...g.types], nodes, shards: g.size, unowned };
  });
}

/** Whether a tenant pinned to `pin`'s node or role runs there: its shard's `owner` is that node, or has that role. */
export function pinApplied(pin: { node?: string; role?: string }, owner: string | null, records: readonly MemberRecord[]): boolean {
  if (owner === null) return false;
  return pin.node !== undefined ? owner === pin.node : records.some((r) => r.id === owner && r.roles?.includes(pin.role!) === true);
}

/** The map's pinned tenants (those whose pin is still set), with their owners. */
export function pinSummaries(map: ShardMap | undefined, records: readonly MemberRecord[]): PinSummary[] {
  return (map?.pins ?? [])
    .filter((p) => p.node !== undefined || p.role !== undefined)
    .map((p) => {
      const owner = map!.owners[p.shard] ?? null;
      return { ...p, owner, applied: pinApplied(p, owner, records) };
    });
}

/** The types some of `nodes` host and others lack (nodes that do not say are left out). */
export function typeMismatches(nodes: readonly Pick<NodeSummary, "id" | "types">[]): ClusterStatus["typeMismatches"] {
  const saying = nodes.filter((n) => n.types !== null);
  const all = [...new Set(saying.flatMap((n) => n.types!))].sort();
  return all
    .map((type) => ({
      type,
      hostedBy: saying.filter((n) => n.types!.includes(type)).map((n) => n.id),
      missingOn: saying.filter((n) => !n.types!.includes(type)).map((n) => n.id),
    }))
    .filter((m) => m.missingOn.length > 0);
}

const td = new TextDecoder();

/**
 * Reads a cluster's state the way an operator's tool should: from the KV buckets (membership,
 * leader, map) without creating anything, plus each member's own status over NATS. A cluster
 * that was never started is an error naming it.
 */
export async function gatherClusterStatus(nc: NatsConnection, cluster: string, timeoutMs = 1000): Promise<ClusterStatus> {
  const names = clusterBuckets(cluster);
  const kvm = new Kvm(nc);
  const open = async (name: string) => {
    try {
      const kv = await kvm.open(name);
      await kv.status(); // open() alone does not look: this fails when the bucket is missing
      return kv;
    } catch (err) {
      throw new UnavailableError(`no cluster named ${JSON.stringify(cluster)} on this NATS server (bucket ${name} is missing)`, { cause: err });
    }
  };
  const [members, leaderKv, mapKv] = await Promise.all([open(names.members), open(names.leader), open(names.map)]);
  const records = await readMemberRecords(members);
  const leaderEntry = await leaderKv.get("leader");
  let leader: { id?: string; epoch?: number } = {};
  if (leaderEntry !== null && leaderEntry.operation === "PUT") {
    try {
      leader = JSON.parse(td.decode(leaderEntry.value)) as { id?: string; epoch?: number };
      leader.epoch ??= leaderEntry.revision;
    } catch {
      leader = {};
    }
  }
  const map = await readStoredMap(mapKv);
  const answers = new Map<string, NodeStatus>();
  await Promise.all(
    records.map(async (r) => {
      const s = await requestStatus(nc, cluster, r.id, timeoutMs);
      if (s !== undefined) answers.set(r.id, s);
    }),
  );
  const owned = (id: string) => map?.owners.filter((o) => o === id).length ?? 0;
  const nodes: NodeSummary[] = records
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => {
      const s = answers.get(r.id);
      const types = r.types === undefined ? null : [...r.types].sort();
      const roles = [...(r.roles ?? [])].sort();
      return {
        id: r.id,
        state: r.state,
        shards: owned(r.id),
        actors: s?.actors ?? null,
        migrations: s?.migrations ?? null,
        reachable: s !== undefined,
        types,
        roles,
      };
    });
  const groups = groupSummaries(map, records);
  return {
    cluster,
    leader: leader.id ?? null,
    epoch: leader.id === undefined ? null : (leader.epoch ?? null),
    mapVersion: map?.version ?? null,
    shardCount: map?.shardCount ?? null,
    unowned: (map?.owners.filter((o) => o === null).length ?? 0) - groups.reduce((n, g) => n + (g.nodes.length === 0 ? g.unowned : 0), 0),
    groups,
    pins: pinSummaries(map, records),
    migrations: nodes.reduce((n, x) => n + (x.migrations ?? 0), 0),
    nodes,
    typeMismatches: typeMismatches(nodes),
    singletons: singletonSummaries([...answers.values()], map),
    projections: await gatherProjectionStatus(nc, cluster, undefined, false).catch(() => []),
    load: (leader.id === undefined ? undefined : answers.get(leader.id)?.clusterLoad) ?? null,
  };
}
