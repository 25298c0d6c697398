import { ACTOR_TYPE_PATTERN } from "../actor/names.js";
import { InternalError } from "../errors.js";

/**
 * The shard map: which node owns which shard. The leader writes it to the cluster's map bucket
 * (`shoal-map-<cluster>`, key `map`); nodes route by it, and so can clients — `ShoalClient`
 * follows it to send each call straight to its owner's node, and a client in any language can
 * do the same (README, "Routing straight to the owner").
 *
 * Stored as JSON: `{"version", "epoch", "shardCount", "nodes": [ids], "owners": [index into
 * nodes, or -1], "groups": [{"roles", "types", "base", "size"}]}`. Shard `s` is owned by
 * `nodes[owners[s]]` (none while `owners[s]` is -1). `groups` is absent when no actor type is
 * bound to roles.
 *
 * **Shard groups.** Shards `[0, shardCount)` are the default group, placed over every node. An
 * actor type that declares roles lives in the group of its role set: shards
 * `[base, base + size)`, placed only over the nodes that have one of those roles. The groups
 * follow the default one without gaps, in the order the leader first made them, and never move
 * or go away, so an actor's shard is stable: `base + murmur3(type ␀ id) mod shardCount` for a
 * type listed in a group, the plain hash otherwise ({@link shardIn}).
 */

/** Which node owns which shard, as written by the leader. */
export interface ShardMap {
  /** Increases by one with every plan. */
  readonly version: number;
  /** The leader's fencing token (its election revision) when it made this map. */
  readonly epoch: number;
  /** Fixed for the life of a cluster. */
  readonly shardCount: number;
  /**
   * Owner node id per shard (index = shard); `null` while no member is eligible. Its length is
   * `shardCount` plus the sizes of the {@link groups}.
   */
  readonly owners: readonly (string | null)[];
  /** The role groups after the default one (absent or empty: every type is in the default group). */
  readonly groups?: readonly ShardGroup[];
}

/** Shards of the actor types bound to one set of roles, placed only over nodes with one of them. */
export interface ShardGroup {
  /** The roles, sorted and distinct: a node with any of them hosts the group's shards. */
  readonly roles: readonly string[];
  /** The actor types that live in this group, sorted. */
  readonly types: readonly string[];
  /** The group's first shard: `shardCount` plus the sizes of the groups before it. */
  readonly base: number;
  /** How many shards it has (`shardCount` for the groups made by this version). */
  readonly size: number;
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
  const out: Record<string, unknown> = { version: map.version, epoch: map.epoch, shardCount: map.shardCount, nodes, owners };
  if (map.groups !== undefined && map.groups.length > 0) out.groups = map.groups.map((g) => ({ roles: g.roles, types: g.types, base: g.base, size: g.size }));
  return te.encode(JSON.stringify(out));
}

export function decodeMap(bytes: Uint8Array): ShardMap {
  const bad = (why: string) => new InternalError(`malformed shard map: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(td.decode(bytes));
  } catch {
    throw bad("not JSON");
  }
  const m = raw as { version?: unknown; epoch?: unknown; shardCount?: unknown; nodes?: unknown; owners?: unknown; groups?: unknown };
  const int = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!int(m.version) || !int(m.epoch) || !int(m.shardCount)) throw bad("version, epoch and shardCount must be integers");
  if (!Array.isArray(m.nodes) || !m.nodes.every((n) => typeof n === "string")) throw bad("nodes must be strings");
  const groups = decodeGroups(m.groups, m.shardCount as number, bad);
  const total = groups.length === 0 ? (m.shardCount as number) : groups[groups.length - 1]!.base + groups[groups.length - 1]!.size;
  if (!Array.isArray(m.owners) || m.owners.length !== total) throw bad("owners must have one entry per shard");
  const nodes = m.nodes as string[];
  const owners = (m.owners as unknown[]).map((o) => {
    if (o === -1) return null;
    if (typeof o !== "number" || !Number.isInteger(o) || o < 0 || o >= nodes.length) throw bad(`owner index ${String(o)}`);
    return nodes[o]!;
  });
  const map: ShardMap = { version: m.version as number, epoch: m.epoch as number, shardCount: m.shardCount as number, owners };
  return groups.length === 0 ? map : { ...map, groups };
}

/** Most role groups a map may have (each adds `shardCount` owners to it). */
export const MAX_GROUPS = 64;

/** The groups as stored, checked: contiguous after the default group, names well-formed, each type in one group. */
function decodeGroups(raw: unknown, shardCount: number, bad: (why: string) => Error): ShardGroup[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > MAX_GROUPS) throw bad(`groups must be an array of at most ${MAX_GROUPS}`);
  const seen = new Set<string>();
  let next = shardCount;
  return raw.map((g: unknown) => {
    const r = (typeof g === "object" && g !== null ? g : {}) as { roles?: unknown; types?: unknown; base?: unknown; size?: unknown };
    const names = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string" && ACTOR_TYPE_PATTERN.test(x));
    if (!names(r.roles) || (r.roles as string[]).length === 0 || !names(r.types)) throw bad("a group needs roles and types named like actor types");
    if (r.base !== next || typeof r.size !== "number" || !Number.isSafeInteger(r.size) || r.size < 1)
      throw bad(`group at shard ${String(r.base)} is not contiguous`);
    for (const t of r.types as string[]) {
      if (seen.has(t)) throw bad(`type ${t} is in two groups`);
      seen.add(t);
    }
    next += r.size;
    return { roles: [...(r.roles as string[])], types: [...(r.types as string[])], base: r.base, size: r.size };
  });
}
