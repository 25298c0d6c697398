import { InternalError } from "../errors.js";

/**
 * The shard map: which node owns which shard. The leader writes it to the cluster's map bucket
 * (`shoal-map-<cluster>`, key `map`); nodes route by it, and so can clients — `ShoalClient`
 * follows it to send each call straight to its owner's node, and a client in any language can
 * do the same (README, "Routing straight to the owner").
 *
 * Stored as JSON: `{"version", "epoch", "shardCount", "nodes": [ids], "owners": [index into
 * nodes, or -1]}`. Shard `s` is owned by `nodes[owners[s]]` (none while `owners[s]` is -1).
 */

/** Which node owns which shard, as written by the leader. */
export interface ShardMap {
  /** Increases by one with every plan. */
  readonly version: number;
  /** The leader's fencing token (its election revision) when it made this map. */
  readonly epoch: number;
  /** Fixed for the life of a cluster. */
  readonly shardCount: number;
  /** Owner node id per shard (index = shard); `null` while no member is eligible. */
  readonly owners: readonly (string | null)[];
}

const te = new TextEncoder();
const td = new TextDecoder();

/** The map's JSON form, owners as indexes into a list of node ids. */
export function encodeMap(map: ShardMap): Uint8Array {
  const nodes: string[] = [];
  const index = new Map<string, number>();
  const owners = map.owners.map((o) => {
    if (o === null) return -1;
    let i = index.get(o);
    if (i === undefined) {
      i = nodes.push(o) - 1;
      index.set(o, i);
    }
    return i;
  });
  return te.encode(JSON.stringify({ version: map.version, epoch: map.epoch, shardCount: map.shardCount, nodes, owners }));
}

export function decodeMap(bytes: Uint8Array): ShardMap {
  const bad = (why: string) => new InternalError(`malformed shard map: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(td.decode(bytes));
  } catch {
    throw bad("not JSON");
  }
  const m = raw as { version?: unknown; epoch?: unknown; shardCount?: unknown; nodes?: unknown; owners?: unknown };
  const int = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!int(m.version) || !int(m.epoch) || !int(m.shardCount)) throw bad("version, epoch and shardCount must be integers");
  if (!Array.isArray(m.nodes) || !m.nodes.every((n) => typeof n === "string")) throw bad("nodes must be strings");
  if (!Array.isArray(m.owners) || m.owners.length !== m.shardCount) throw bad("owners must have one entry per shard");
  const nodes = m.nodes as string[];
  const owners = (m.owners as unknown[]).map((o) => {
    if (o === -1) return null;
    if (typeof o !== "number" || !Number.isInteger(o) || o < 0 || o >= nodes.length) throw bad(`owner index ${String(o)}`);
    return nodes[o]!;
  });
  return { version: m.version as number, epoch: m.epoch as number, shardCount: m.shardCount as number, owners };
}
