/**
 * Which role groups a map has, and which actor types live in each: pure, from the previous map's
 * groups and what the members announce (each node lists the roles of the types it hosts that
 * declare some). See `src/routing/shard-map.ts` for what a group is.
 *
 * Rules, so an actor's shard changes only when its type's roles do:
 * - a group, once made, keeps its place (`base`) and size for good, even when no type is left in it;
 *   a new one starts at `firstFree` (the map's shard total: pins may follow the last group);
 * - a type stays in its group while some member announces that role set for it, or while no
 *   member announces the type at all (its nodes are away);
 * - a type whose announced roles differ (a deploy that changed them) goes to the group of the
 *   smallest role set announced, made at the end if it is new;
 * - at most {@link MAX_GROUPS} groups: a type that would need one more stays where it is, and
 *   is reported in `refused`.
 */
import { MAX_GROUPS, type ShardGroup } from "../src/routing/shard-map.js";

/** What a member announces: the roles each of its types is bound to (types without roles are absent). */
export type TypeRoles = Readonly<Record<string, readonly string[]>>;

/** The groups of the next map, and the types that could not get a group of their own. */
export interface GroupLayout {
  readonly groups: ShardGroup[];
  /** Types announced with roles that found no group (past {@link MAX_GROUPS}), with the roles. */
  readonly refused: ReadonlyArray<{ type: string; roles: readonly string[] }>;
}

/** A role set's key: its roles sorted and distinct, joined by commas. */
export function rolesKey(roles: readonly string[]): string {
  return [...new Set(roles)].sort().join(",");
}

/** The groups of the next map (see the module doc). Same inputs → same output, whatever their order. */
export function layoutGroups(previous: readonly ShardGroup[], shardCount: number, announced: readonly TypeRoles[], firstFree?: number): GroupLayout {
  let free = firstFree ?? previous.reduce((end, g) => Math.max(end, g.base + g.size), shardCount);
  const wanted = new Map<string, Set<string>>();
  for (const a of announced) {
    for (const [type, roles] of Object.entries(a)) {
      if (roles.length === 0) continue;
      const keys = wanted.get(type) ?? new Set<string>();
      keys.add(rolesKey(roles));
      wanted.set(type, keys);
    }
  }
  const groups = previous.map((g) => ({ roles: [...g.roles], types: new Set<string>(), base: g.base, size: g.size }));
  const byKey = new Map(groups.map((g) => [rolesKey(g.roles), g]));
  const was = new Map<string, string>();
  for (const g of previous) for (const t of g.types) was.set(t, rolesKey(g.roles));
  const chosen = new Map<string, string>();
  for (const type of [...new Set([...was.keys(), ...wanted.keys()])].sort()) {
    const keys = wanted.get(type);
    const before = was.get(type);
    const key = keys === undefined || (before !== undefined && keys.has(before)) ? before : [...keys].sort()[0];
    if (key !== undefined) chosen.set(type, key);
  }
  // New role sets get their groups in key order, so the layout does not depend on who spoke first.
  for (const key of [...new Set(chosen.values())].filter((k) => !byKey.has(k)).sort()) {
    if (groups.length >= MAX_GROUPS) break;
    const g = { roles: key.split(","), types: new Set<string>(), base: free, size: shardCount };
    free += shardCount;
    groups.push(g);
    byKey.set(key, g);
  }
  const refused: Array<{ type: string; roles: string[] }> = [];
  for (const [type, key] of chosen) {
    const g = byKey.get(key);
    if (g !== undefined) g.types.add(type);
    else {
      refused.push({ type, roles: key.split(",") });
      const before = was.get(type);
      if (before !== undefined) byKey.get(before)!.types.add(type);
    }
  }
  return {
    groups: groups.map((g) => ({ roles: g.roles, types: [...g.types].sort(), base: g.base, size: g.size })),
    refused,
  };
}

/** Whether two group lists say the same thing (the manager writes a map when they differ). */
export function sameGroups(a: readonly ShardGroup[] | undefined, b: readonly ShardGroup[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length &&
    x.every(
      (g, i) => rolesKey(g.roles) === rolesKey(y[i]!.roles) && g.types.join(",") === y[i]!.types.join(",") && g.base === y[i]!.base && g.size === y[i]!.size,
    )
  );
}
