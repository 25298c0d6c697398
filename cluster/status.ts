import type { NatsConnection } from "@nats-io/transport-node";
import { statusSubject } from "../src/nats-names.js";
import type { MemberRecord } from "./membership.js";

/** What `status` reports about one node. */
export interface NodeStatus {
  node: string;
  cluster: string;
  state: MemberRecord["state"];
  leader: string | null;
  epoch: number | null;
  isLeader: boolean;
  mapVersion: number | null;
  mapEpoch: number | null;
  shards: number;
  actors: number;
  /** Shards being handed off or received right now. */
  migrations: number;
  /** The actor types this node hosts, sorted. */
  types: string[];
  members: MemberRecord[];
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
 * Whether the statuses of `ids` show a settled cluster: every node answered, all agree on one
 * leader (exactly one believes it leads) and one map version, each sees all of `ids`, the map
 * gives each a fair share of the `shards`, and no migration is in flight.
 */
export function isSettled(statuses: readonly NodeStatus[], ids: readonly string[], shards: number): boolean {
  if (statuses.length !== ids.length || ids.length === 0) return false;
  const leaders = new Set(statuses.map((s) => s.leader));
  const versions = new Set(statuses.map((s) => s.mapVersion));
  const owned = statuses.reduce((n, s) => n + s.shards, 0);
  const fair = Math.floor(shards / ids.length);
  return (
    leaders.size === 1 &&
    !leaders.has(null) &&
    versions.size === 1 &&
    statuses.filter((s) => s.isLeader).length === 1 &&
    owned === shards &&
    statuses.every((s) => s.shards >= fair && s.migrations === 0 && ids.every((id) => s.members.some((m) => m.id === id)))
  );
}
