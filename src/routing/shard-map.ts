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
  /** The tenants with a shard of their own (absent or empty: none). */
  readonly pins?: readonly TenantPin[];
}

/**
 * A tenant of an actor type with a shard of its own: every actor of the type whose tenant is
 * `tenant` lives in shard `shard`, whatever its id hashes to. While `node` or `role` is set the
 * leader places that shard there (`shoal pin set`); without either (the pin was removed, the
 * tenant keeps its shard) it is placed like any shard of the type's group.
 */
export interface TenantPin {
  readonly type: string;
  readonly tenant: string;
  readonly shard: number;
  /** The node the tenant is pinned to. */
  readonly node?: string;
  /** The role whose nodes the tenant is pinned to (one of them, by the hash). */
  readonly role?: string;
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
  if (map.pins !== undefined && map.pins.length > 0) out.pins = map.pins.map((p) => ({ ...p }));
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
  const m = raw as { version?: unknown; epoch?: unknown; shardCount?: unknown; nodes?: unknown; owners?: unknown; groups?: unknown; pins?: unknown };
  const int = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!int(m.version) || !int(m.epoch) || !int(m.shardCount)) throw bad("version, epoch and shardCount must be integers");
  if (!Array.isArray(m.nodes) || !m.nodes.every((n) => typeof n === "string")) throw bad("nodes must be strings");
  const groups = decodeGroups(m.groups, bad);
  const pins = decodePins(m.pins, bad);
  let total: number;
  try {
    total = shardTotal(m.shardCount as number, groups, pins);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (!Array.isArray(m.owners) || m.owners.length !== total) throw bad("owners must have one entry per shard");
  const nodes = m.nodes as string[];
  const owners = (m.owners as unknown[]).map((o) => {
    if (o === -1) return null;
    if (typeof o !== "number" || !Number.isInteger(o) || o < 0 || o >= nodes.length) throw bad(`owner index ${String(o)}`);
    return nodes[o]!;
  });
  let map: ShardMap = { version: m.version as number, epoch: m.epoch as number, shardCount: m.shardCount as number, owners };
  if (groups.length > 0) map = { ...map, groups };
  return pins.length === 0 ? map : { ...map, pins };
}

/** Most tenants with a shard of their own in one map. */
export const MAX_PINS = 4096;

/** Longest tenant, in UTF-16 units (ids, and so their tenants, are at most 512 UTF-8 bytes). */
const MAX_TENANT = 512;

/**
 * How many shards a map with these groups and pins has, checking that the groups and the pins'
 * shards tile `[shardCount, total)` exactly, that no type is in two groups and no tenant has two
 * shards. A RangeError otherwise.
 */
export function shardTotal(shardCount: number, groups: readonly ShardGroup[], pins: readonly TenantPin[]): number {
  const ranges = [...groups.map((g) => [g.base, g.size] as const), ...pins.map((p) => [p.shard, 1] as const)].sort((a, b) => a[0] - b[0]);
  let next = shardCount;
  for (const [base, size] of ranges) {
    if (base !== next) throw new RangeError(`the extra shards do not follow each other at ${next} (found ${base})`);
    next += size;
  }
  const types = new Set<string>();
  for (const g of groups) {
    for (const t of g.types) {
      if (types.has(t)) throw new RangeError(`type ${t} is in two groups`);
      types.add(t);
    }
  }
  const tenants = new Set<string>();
  for (const p of pins) {
    const key = `${p.type}\u0000${p.tenant}`;
    if (tenants.has(key)) throw new RangeError(`tenant ${JSON.stringify(p.tenant.slice(0, 64))} of ${p.type} has two shards`);
    tenants.add(key);
  }
  return next;
}

/** The pins as stored, checked (their shards are checked with the groups by {@link shardTotal}). */
function decodePins(raw: unknown, bad: (why: string) => Error): TenantPin[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > MAX_PINS) throw bad(`pins must be an array of at most ${MAX_PINS}`);
  return raw.map((x: unknown) => {
    const r = (typeof x === "object" && x !== null ? x : {}) as Partial<Record<keyof TenantPin, unknown>>;
    if (typeof r.type !== "string" || !ACTOR_TYPE_PATTERN.test(r.type)) throw bad("a pin's type must be named like an actor type");
    if (typeof r.tenant !== "string" || r.tenant.length > MAX_TENANT) throw bad("a pin's tenant must be a string of at most 512 characters");
    if (typeof r.shard !== "number" || !Number.isSafeInteger(r.shard) || r.shard < 0) throw bad("a pin's shard must be an integer");
    if (r.node !== undefined && typeof r.node !== "string") throw bad("a pin's node must be a string");
    if (r.role !== undefined && (typeof r.role !== "string" || !ACTOR_TYPE_PATTERN.test(r.role))) throw bad("a pin's role must be named like an actor type");
    if (r.node !== undefined && r.role !== undefined) throw bad("a pin names a node or a role, not both");
    const pin: TenantPin = { type: r.type, tenant: r.tenant, shard: r.shard };
    if (r.node !== undefined) return { ...pin, node: r.node as string };
    return r.role === undefined ? pin : { ...pin, role: r.role as string };
  });
}

/** Most role groups a map may have (each adds `shardCount` owners to it). */
export const MAX_GROUPS = 64;

/** The groups as stored, checked one by one (their places are checked by {@link shardTotal}). */
function decodeGroups(raw: unknown, bad: (why: string) => Error): ShardGroup[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > MAX_GROUPS) throw bad(`groups must be an array of at most ${MAX_GROUPS}`);
  return raw.map((g: unknown) => {
    const r = (typeof g === "object" && g !== null ? g : {}) as { roles?: unknown; types?: unknown; base?: unknown; size?: unknown };
    const names = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string" && ACTOR_TYPE_PATTERN.test(x));
    if (!names(r.roles) || (r.roles as string[]).length === 0 || !names(r.types)) throw bad("a group needs roles and types named like actor types");
    const int = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
    if (!int(r.base) || !int(r.size) || r.size < 1) throw bad(`group at shard ${String(r.base)} has a bad base or size`);
    return { roles: [...(r.roles as string[])], types: [...(r.types as string[])], base: r.base, size: r.size };
  });
}
