/**
 * The leader's planner: previous shard map + current members → next map and the moves between
 * them. Pure; the manager carries plans out. See `placement.ts` for the algorithm.
 */
import { isEligible, reassign, shares, type Member, type Move, type ShardMap } from "./placement.js";
import { DEFAULT_SHARD_COUNT } from "../src/routing/shard-hash.js";
import type { ShardGroup } from "../src/routing/shard-map.js";

/** Options of {@link plan}. */
export interface PlanOptions {
  /** Shard count of a first map; must match `previous.shardCount` when given with one. Default 1024. */
  shardCount?: number;
  /** The leader's fencing token to stamp on the map; defaults to the previous map's epoch (or 0). */
  epoch?: number;
  /**
   * The role groups of the new map (`layoutGroups`); default: the previous map's. It may add
   * groups at the end and change their types, never drop or move one (a RangeError).
   */
  groups?: readonly ShardGroup[];
}

/** A new map and how to get there. */
export interface Plan {
  readonly map: ShardMap;
  /** Shards whose owner changes, in shard order. Empty when nothing changes (the manager may skip the write). */
  readonly moves: Move[];
}

/** Shard-count balance of a map: `ratio` = max over members of load / fair share (= max/mean for equal weights). */
export interface Balance {
  /** Most shards on one member. */
  readonly max: number;
  /** Owned shards per member. */
  readonly mean: number;
  /** 1 is perfect; 1 when nothing is owned. */
  readonly ratio: number;
}

/**
 * The next map for `members`: `version` = previous + 1 (1 for the first), `epoch` from `opts`.
 * Sticky: only orphaned shards (owner gone or draining) and owners' shares above their new
 * bounds move, so `moves.length === minimumMoves(previous, members)`; a leave moves exactly the
 * leaver's shards and a join about S/(N+1). No eligible member → every shard unowned.
 * Throws `RangeError` on inconsistent input (see {@link shares}).
 */
export function plan(previous: ShardMap | undefined, members: readonly Member[], opts: PlanOptions = {}): Plan {
  const { prev, groups, shardCount } = layout(previous, opts);
  const owners: (string | null)[] = [];
  for (const r of ranges(shardCount, groups)) owners.push(...reassign(prev.slice(r.base, r.base + r.size), hosts(members, r.roles)));
  const moves: Move[] = [];
  owners.forEach((to, shard) => {
    const from = prev[shard] ?? null;
    if (from !== to) moves.push({ shard, from, to });
  });
  const map: ShardMap = {
    version: (previous?.version ?? 0) + 1,
    epoch: opts.epoch ?? previous?.epoch ?? 0,
    shardCount,
    owners,
  };
  return { map: groups.length === 0 ? map : { ...map, groups }, moves };
}

/** The members that may own a range's shards: all of them for the default group, else those with one of its roles. */
export function hosts(members: readonly Member[], roles: readonly string[] | undefined): readonly Member[] {
  return roles === undefined ? members : members.filter((m) => m.roles?.some((r) => roles.includes(r)) === true);
}

/** The default group's range, then each role group's. */
function ranges(shardCount: number, groups: readonly ShardGroup[]): Array<{ base: number; size: number; roles?: readonly string[] }> {
  return [{ base: 0, size: shardCount }, ...groups];
}

/** The previous owners over the new map's whole shard range (new groups' shards unowned), and its groups. */
function layout(previous: ShardMap | undefined, opts: PlanOptions): { prev: readonly (string | null)[]; groups: readonly ShardGroup[]; shardCount: number } {
  const base = ownersOf(previous, opts);
  const shardCount = previous?.shardCount ?? base.length;
  const before = previous?.groups ?? [];
  const groups = opts.groups ?? before;
  if (groups.length < before.length) throw new RangeError("a map's role groups are never dropped");
  let end = shardCount;
  groups.forEach((g, i) => {
    const was = before[i];
    if (g.base !== end || (was !== undefined && (was.base !== g.base || was.size !== g.size || was.roles.join(",") !== g.roles.join(",")))) {
      throw new RangeError(`group ${i} (${g.roles.join(",")}) does not follow the previous map's groups`);
    }
    end += g.size;
  });
  const prev = base.length === end ? base : [...base, ...new Array<string | null>(end - base.length).fill(null)];
  return { prev, groups, shardCount };
}

/**
 * The fewest moves any plan within the members' bounds needs: the larger of shards that must
 * leave their owner (orphaned, or above the owner's `max`) and shards that members below their
 * `min` must receive. (Both bounds are reachable at once, so the larger one is exact.)
 */
export function minimumMoves(previous: ShardMap | undefined, members: readonly Member[], opts: Pick<PlanOptions, "shardCount" | "groups"> = {}): number {
  const { prev, groups, shardCount } = layout(previous, opts);
  return ranges(shardCount, groups).reduce((t, r) => t + rangeMinimum(prev.slice(r.base, r.base + r.size), hosts(members, r.roles)), 0);
}

function rangeMinimum(prev: readonly (string | null)[], members: readonly Member[]): number {
  const sh = shares(prev.length, members);
  if (sh.length === 0) return prev.filter((o) => o !== null).length;
  const load = loads(prev);
  let owned = 0;
  let out = 0;
  let into = 0;
  for (const s of sh) {
    const n = load.get(s.id) ?? 0;
    owned += n;
    out += Math.max(0, n - s.max);
    into += Math.max(0, s.min - n);
  }
  return Math.max(prev.length - owned + out, into);
}

/**
 * Balance of `map` over the eligible `members` (those owning nothing count too), or over the
 * owners present with weight 1 when `members` is omitted.
 */
export function balance(map: ShardMap, members?: readonly Member[]): Balance {
  const load = loads(map.owners);
  const el = members ? members.filter(isEligible) : [...load.keys()].map((id) => ({ id, weight: 1 }));
  const owned = el.reduce((t, m) => t + (load.get(m.id) ?? 0), 0);
  if (owned === 0) return { max: 0, mean: 0, ratio: 1 };
  const total = el.reduce((t, m) => t + m.weight, 0);
  let max = 0;
  let ratio = 0;
  for (const m of el) {
    const n = load.get(m.id) ?? 0;
    max = Math.max(max, n);
    ratio = Math.max(ratio, (n * total) / (owned * m.weight));
  }
  return { max, mean: owned / el.length, ratio };
}

function ownersOf(previous: ShardMap | undefined, opts: Pick<PlanOptions, "shardCount">): readonly (string | null)[] {
  if (!previous) return new Array<string | null>(opts.shardCount ?? DEFAULT_SHARD_COUNT).fill(null);
  if (opts.shardCount !== undefined && opts.shardCount !== previous.shardCount) {
    throw new RangeError(`shard count is fixed: map has ${previous.shardCount}, asked for ${opts.shardCount}`);
  }
  const total = previous.shardCount + (previous.groups ?? []).reduce((t, g) => t + g.size, 0);
  if (previous.owners.length !== total) {
    throw new RangeError(`map has ${previous.owners.length} owners for ${total} shards`);
  }
  return previous.owners;
}

function loads(owners: readonly (string | null)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of owners) if (o !== null) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
}

/** Options of {@link stage}. */
export interface StageOptions {
  /** Most live handoffs (moves between two members) one map may start. */
  maxHandoffs: number;
}

/**
 * One step from `plan.map` toward its target: every move whose source is not a member any more
 * (an orphan: nothing to hand over, its actors load from the store) is kept, but at most
 * `maxHandoffs` moves between live members, in shard order; the other shards stay where they
 * are for a later step. A map pauses only the shards it moves, so bounding them bounds how long
 * each waits for its turn to be handed off. `remaining` counts the handoffs left for later steps.
 * Pure; each step is a valid map, and planning again from it (the planner is sticky) continues
 * toward the same balance.
 */
export function stage(
  previous: ShardMap | undefined,
  next: Plan,
  members: readonly Member[],
  opts: StageOptions,
): Plan & { handoffs: number; remaining: number } {
  const live = new Set(members.map((m) => m.id));
  const isHandoff = (m: Move) => m.from !== null && m.to !== null && live.has(m.from);
  const handoffs = next.moves.filter(isHandoff);
  const limit = Math.max(1, Math.floor(opts.maxHandoffs));
  if (previous === undefined || handoffs.length <= limit) return { ...next, handoffs: handoffs.length, remaining: 0 };
  const now = new Set(handoffs.slice(0, limit).map((m) => m.shard));
  const moves = next.moves.filter((m) => !isHandoff(m) || now.has(m.shard));
  const owners = previous.owners.slice();
  for (const m of moves) owners[m.shard] = m.to;
  return { map: { ...next.map, owners }, moves, handoffs: limit, remaining: handoffs.length - limit };
}
