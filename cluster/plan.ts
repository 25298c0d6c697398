/**
 * The leader's planner: previous shard map + current members → next map and the moves between
 * them. Pure; the manager carries plans out. See `placement.ts` for the algorithm.
 */
import { isEligible, pickOwner, reassign, shares, type Member, type Move, type ShardMap } from "./placement.js";
import { DEFAULT_SHARD_COUNT } from "../src/routing/shard-hash.js";
import { type ShardGroup, shardTotal, type TenantPin } from "../src/routing/shard-map.js";

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
  /**
   * The tenants with shards of their own (`layoutPins`); default: the previous map's. It may add
   * pins at the map's end and change where they point, never drop or move one (a RangeError).
   */
  pins?: readonly TenantPin[];
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
  const { prev, groups, pins, shardCount } = layout(previous, opts);
  const owners = new Array<string | null>(prev.length).fill(null);
  for (const r of ranges(shardCount, groups)) owners.splice(r.base, r.size, ...reassign(prev.slice(r.base, r.base + r.size), hosts(members, r.roles)));
  for (const p of pins) owners[p.shard] = pinOwner(p, members, groups, prev[p.shard] ?? null);
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
  const withGroups = groups.length === 0 ? map : { ...map, groups };
  return { map: pins.length === 0 ? withGroups : { ...withGroups, pins }, moves };
}

/**
 * Where a tenant's own shard goes: its pinned node while that node may host the type; one of the
 * nodes with its pinned role (sticky, else by the hash); else — unpinned, or the pin's node or
 * role gone — wherever it is now if that node may host the type, else by the hash over those
 * that may. Null when no member may host the type.
 */
export function pinOwner(pin: TenantPin, members: readonly Member[], groups: readonly ShardGroup[], current: string | null): string | null {
  const group = groups.find((g) => g.types.includes(pin.type));
  const may = hosts(members, group?.roles).filter(isEligible);
  if (pin.node !== undefined && may.some((m) => m.id === pin.node)) return pin.node;
  if (pin.role !== undefined) {
    const withRole = may.filter((m) => m.roles?.includes(pin.role!) === true);
    if (withRole.length > 0) return pickOwner(pin.shard, withRole, current);
  }
  return pickOwner(pin.shard, may, current);
}

/** The members that may own a range's shards: all of them for the default group, else those with one of its roles. */
export function hosts(members: readonly Member[], roles: readonly string[] | undefined): readonly Member[] {
  return roles === undefined ? members : members.filter((m) => m.roles?.some((r) => roles.includes(r)) === true);
}

/** The default group's range, then each role group's. */
function ranges(shardCount: number, groups: readonly ShardGroup[]): Array<{ base: number; size: number; roles?: readonly string[] }> {
  return [{ base: 0, size: shardCount }, ...groups];
}

/** The previous owners over the new map's whole shard range (new shards unowned), its groups and pins. */
function layout(
  previous: ShardMap | undefined,
  opts: PlanOptions,
): { prev: readonly (string | null)[]; groups: readonly ShardGroup[]; pins: readonly TenantPin[]; shardCount: number } {
  const base = ownersOf(previous, opts);
  const shardCount = previous?.shardCount ?? base.length;
  const before = previous?.groups ?? [];
  const groups = opts.groups ?? before;
  const pins = opts.pins ?? previous?.pins ?? [];
  if (groups.length < before.length) throw new RangeError("a map's role groups are never dropped");
  before.forEach((was, i) => {
    const g = groups[i]!;
    if (was.base !== g.base || was.size !== g.size || was.roles.join(",") !== g.roles.join(",")) {
      throw new RangeError(`group ${i} (${g.roles.join(",")}) does not follow the previous map's groups`);
    }
  });
  const shardOfTenant = new Map(pins.map((p) => [`${p.type}\u0000${p.tenant}`, p.shard]));
  for (const p of previous?.pins ?? []) {
    if (shardOfTenant.get(`${p.type}\u0000${p.tenant}`) !== p.shard)
      throw new RangeError(`tenant ${JSON.stringify(p.tenant.slice(0, 64))} of ${p.type} must keep shard ${p.shard}`);
  }
  const end = shardTotal(shardCount, groups, pins);
  if (end < base.length) throw new RangeError("a map never loses shards");
  const prev = base.length === end ? base : [...base, ...new Array<string | null>(end - base.length).fill(null)];
  return { prev, groups, pins, shardCount };
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
  const total = shardTotal(previous.shardCount, previous.groups ?? [], previous.pins ?? []);
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
