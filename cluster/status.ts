import { type NatsConnection, NoRespondersError, RequestError } from "@nats-io/transport-node";
import { statusSubject } from "../src/nats-names.js";
import type { NodeLoad } from "./cluster-load.js";
import type { ProbeResult } from "./failure-detector.js";
import type { ClusterLoadSummary } from "./load-service.js";
import type { MemberRecord } from "./membership.js";
import type { RequestStatsSummary } from "./request-stats.js";

/** What `status` reports about one node ({@link ShoalNode.status}, `shoal status`). */
export interface NodeStatus {
  /** The node's id. */
  node: string;
  /** The cluster's name. */
  cluster: string;
  /** Its membership state (see {@link MemberRecord.state}). */
  state: MemberRecord["state"];
  /** The node it believes leads the cluster; null while it knows of none. */
  leader: string | null;
  /** That leader's epoch (its fencing token: a newer leader has a larger one); null with no leader. */
  epoch: number | null;
  /** Whether this node holds an unexpired leader lease now. */
  isLeader: boolean;
  /** Version of the shard map it routes by; null before its first map. */
  mapVersion: number | null;
  /** Shards in that map: the shard count, plus role groups' and tenants' own shards (null without a map). */
  mapShards?: number | null;
  /** Epoch of the leader that made that map; null before its first map. */
  mapEpoch: number | null;
  /** Shards it owns in that map. */
  shards: number;
  /** Actors in memory on it now. */
  actors: number;
  /** Shards being handed off or received right now. */
  migrations: number;
  /** Messages it has sent on to the owner's node since it started (a client routing by the map saves these hops). */
  forwarded: number;
  /** The actor types this node hosts, sorted. */
  types: string[];
  /**
   * The singleton types it hosts, each with whether it runs here now (this node owns its shard,
   * acts as an owner, and holds it active and not paused for a handoff). Absent from nodes
   * older than singletons.
   */
  singletons?: SingletonStatus[];
  /** The membership records it sees, itself included, sorted by id. */
  members: MemberRecord[];
  /** Its own load at its last report (absent before the first, and from nodes older than load reports). */
  load?: NodeLoad;
  /** Only from the leader: the cluster's load as the members report it, its busiest shards and hottest actors. */
  clusterLoad?: ClusterLoadSummary;
  /**
   * What its ingress handled over the last 10 s: client requests per second, error ratio and
   * latency quantiles, per actor type (absent from nodes older than these stats).
   */
  requests?: RequestStatsSummary;
}

/** A singleton type a node hosts, in its {@link NodeStatus}. */
export interface SingletonStatus {
  /** The singleton's type name (also its one actor's id). */
  type: string;
  /** Whether it runs on this node now. */
  running: boolean;
}

/** Asks one node for its status; undefined when it does not answer in time. */
export async function requestStatus(nc: NatsConnection, cluster: string, nodeId: string, timeoutMs = 1000): Promise<NodeStatus | undefined> {
  try {
    const r = await nc.request(statusSubject(cluster, nodeId), new Uint8Array(0), { timeout: timeoutMs });
    return JSON.parse(new TextDecoder().decode(r.data)) as NodeStatus;
  } catch {
    return undefined;
  }
}

/**
 * Probes one node's status subject for the failure detector: `alive` on any answer, `absent` only
 * when the server says no one subscribes (the node's connection is gone), `unknown` otherwise.
 */
export async function probeStatus(nc: NatsConnection, cluster: string, nodeId: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    await nc.request(statusSubject(cluster, nodeId), PROBE, { timeout: timeoutMs });
    return "alive";
  } catch (err) {
    return isNoResponders(err) ? "absent" : "unknown";
  }
}

/** A probe's body: a status request a node may answer with less than its full status. */
const PROBE = new TextEncoder().encode("probe");

/** The server had no subscriber for the subject (as nats.js reports it, wrapped or not). */
export function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders())) return true;
  }
  return false;
}

/**
 * Whether the statuses of `ids` show a settled cluster: every node answered, all agree on one
 * leader (exactly one believes it leads) and one map version, each sees all of `ids`, the map
 * gives each a fair share of the `shards`, and no migration is in flight.
 */
export function isSettled(statuses: readonly NodeStatus[], ids: readonly string[], shards: number): boolean {
  if (statuses.length !== ids.length || ids.length === 0) return false;
  const leaders = new Set(statuses.map((s) => s.leader));
  const versions = new Set(statuses.map((s) => s.mapVersion));
  const owned = statuses.reduce((n, s) => n + s.shards, 0);
  // A map with role groups or tenant shards has more shards than the count the cluster was made with.
  const total = Math.max(shards, ...statuses.map((s) => s.mapShards ?? shards));
  const fair = Math.floor(shards / ids.length);
  return (
    leaders.size === 1 &&
    !leaders.has(null) &&
    versions.size === 1 &&
    statuses.filter((s) => s.isLeader).length === 1 &&
    owned === total &&
    statuses.every((s) => s.shards >= fair && s.migrations === 0 && ids.every((id) => s.members.some((m) => m.id === id)))
  );
}
