import { actorHash, murmur3 } from "../routing/shard-hash.js";
import type { PartitionBy } from "./spec.js";

/**
 * Pure placement of a projection's work. An event goes to the partition of its actor; a
 * partition runs on the owner of one shard of the cluster's map, so partitions are placed by the
 * leader and move with shards on joins, drains and crashes.
 */

const utf8 = new TextEncoder();

/** The key of a tenant: the id's prefix before its first `/`, or the whole id. */
export function tenantOf(id: string): string {
  const slash = id.indexOf("/");
  return slash < 0 ? id : id.slice(0, slash);
}

/** The partition (0 … count − 1) of actor `(type, id)`. */
export function partitionOf(by: PartitionBy, count: number, type: string, id: string): number {
  if (count === 1) return 0;
  if (by === "actor") return actorHash(type, id) % count;
  const key = by === "tenant" ? tenantOf(id) : by(type, id);
  return murmur3(utf8.encode(key)) % count;
}

/**
 * The shard whose owner runs partition `k` of `count`: the partitions of one projection sit at
 * even steps around the shard ring from a point its name picks, so they land on different shards
 * (and, as the map spreads shards, on different nodes) rather than wherever a hash drops them.
 */
export function partitionShard(name: string, k: number, count: number, shardCount: number): number {
  const start = murmur3(utf8.encode(`projection\u0000${name}`)) % shardCount;
  return (start + Math.floor((k * shardCount) / count)) % shardCount;
}
