/**
 * Actor → shard on a given map: the hash of `shard-hash.ts`, placed in its type's shard group
 * (see `shard-map.ts`). On every message's path, so a map's type → group lookup is built once
 * per map and kept beside it.
 */
import { shardOf } from "./shard-hash.js";
import type { ShardGroup, ShardMap } from "./shard-map.js";

const byMap = new WeakMap<ShardMap, ReadonlyMap<string, ShardGroup>>();
const pinsByMap = new WeakMap<ShardMap, ReadonlyMap<string, ReadonlyMap<string, number>>>();

/** How an actor id names its tenant: `(type, id) → tenant`. */
export type TenantOf = (type: string, id: string) => string;

/** The default tenant of an id: its prefix before the first `/`, or the whole id when it has none. */
export function defaultTenant(id: string): string {
  const slash = id.indexOf("/");
  return slash < 0 ? id : id.slice(0, slash);
}

/** The tenants of `type` with a shard of their own on `map` (tenant → shard), or undefined when none has. */
export function pinsOf(map: ShardMap, type: string): ReadonlyMap<string, number> | undefined {
  if (map.pins === undefined || map.pins.length === 0) return undefined;
  let types = pinsByMap.get(map);
  if (types === undefined) {
    const m = new Map<string, Map<string, number>>();
    for (const p of map.pins) {
      const t = m.get(p.type) ?? new Map<string, number>();
      t.set(p.tenant, p.shard);
      m.set(p.type, t);
    }
    types = m;
    pinsByMap.set(map, types);
  }
  return types.get(type);
}

/** The role group actor type `type` lives in on `map`, or undefined for the default group. */
export function groupOf(map: ShardMap, type: string): ShardGroup | undefined {
  if (map.groups === undefined || map.groups.length === 0) return undefined;
  let types = byMap.get(map);
  if (types === undefined) {
    const m = new Map<string, ShardGroup>();
    for (const g of map.groups) for (const t of g.types) m.set(t, g);
    types = m;
    byMap.set(map, types);
  }
  return types.get(type);
}

/**
 * The shard of actor `(type, id)` on `map`: its tenant's own shard when the map has one (tenants
 * named by `tenantOf`, default {@link defaultTenant}), else its group's base plus the hash mod
 * `shardCount`.
 */
export function shardIn(map: ShardMap, type: string, id: string, tenantOf?: TenantOf): number {
  return shardInGroup(map, groupOf(map, type), type, id, tenantOf);
}

/** {@link shardIn} for a caller that has looked up the type's group already (`groupOf`): the router, once per message. */
export function shardInGroup(map: ShardMap, group: ShardGroup | undefined, type: string, id: string, tenantOf?: TenantOf): number {
  const pins = pinsOf(map, type);
  if (pins !== undefined) {
    const own = pins.get(tenantOf === undefined ? defaultTenant(id) : tenantOf(type, id));
    if (own !== undefined) return own;
  }
  return (group?.base ?? 0) + shardOf(type, id, map.shardCount);
}

/** The node owning actor `(type, id)`'s shard on `map`, or null while it has none. */
export function ownerIn(map: ShardMap, type: string, id: string, tenantOf?: TenantOf): string | null {
  return map.owners[shardIn(map, type, id, tenantOf)] ?? null;
}

/** Whether no node owns any shard of `group`: no node of the cluster has one of its roles. */
export function groupUnhosted(map: ShardMap, group: ShardGroup): boolean {
  for (let s = group.base; s < group.base + group.size; s++) if (map.owners[s] !== null) return false;
  return true;
}
