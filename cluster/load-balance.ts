/**
 * Load-aware rebalancing: pure, like `plan()`. Given a map, its members and a load per shard (turns
 * per second, as the nodes report it), it picks shard swaps that take load off members whose
 * load exceeds their fair share of their group's by more than a factor.
 *
 * **Swaps, not moves.** The count-balanced planner gives every member between ⌊S·w/W⌋ and
 * ⌈S·w/W⌉ shards of a group and sheds any excess on its next plan; a load move that broke those
 * bounds would be undone by the next join. So each step trades a hot shard of an overloaded
 * member for a cold shard (an idle one when there is any: its handoff carries nothing) of the
 * least loaded member of the same group: counts stay where they were, and `plan()` keeps
 * the result.
 *
 * **Bounded churn, with hysteresis.**
 * - A member is overloaded when its load exceeds `factor` × its fair share (the group's load ×
 *   its weight ÷ the group's weight); swapping off it goes on until it is back within `settle` ×
 *   its share (default halfway between 1 and `factor`), so a member just over the line is not
 *   nudged back and forth. A relief the move budget cut short goes on in the next call: the
 *   plan lists it in `relieving`, and the caller hands it back.
 * - A swap is made only if it lowers the larger of the two members' loads, so no single hot shard
 *   just changes hands (a shard hotter than the gap stays where it is: one actor cannot be split).
 * - At most `maxMoves` shard moves (two per swap) per call, hottest member first; shards moved
 *   recently (`recent`, kept by the caller for a cool-down) are not moved again.
 * - Nothing moves while the group's total load is under `minLoad` (noise).
 */
import type { Member, Move, ShardMap } from "./placement.js";
import { isEligible } from "./placement.js";
import { hosts } from "./plan.js";

/** Options of {@link balanceLoad}. */
export interface LoadBalanceOptions {
  /** A member whose load exceeds this × its fair share is overloaded (> 1; e.g. 1.5). */
  readonly factor: number;
  /** Swapping off a member stops once it is within this × its fair share (1 ≤ settle ≤ factor). Default `(1 + factor) / 2`. */
  readonly settle?: number;
  /** Most shard moves (each swap is two) this call may return. */
  readonly maxMoves: number;
  /** A group whose total load (turns/s) is below this is left alone. Default 10. */
  readonly minLoad?: number;
  /** Shards that must not move now (moved by load recently). */
  readonly recent?: ReadonlySet<number>;
  /**
   * Members an earlier call began to relieve and left above the settle line (its plan's
   * `relieving`): swapping off them goes on down to the settle line even if they are under the
   * factor now.
   */
  readonly relieving?: readonly Relief[];
}

/** A member whose relief is under way in a group (the group's first shard: 0 for the default group). */
export interface Relief {
  readonly group: number;
  readonly member: string;
}

/** What one call decided. */
export interface LoadPlan {
  /** The map with the swaps applied (version + 1), or the input map when nothing moves. */
  readonly map: ShardMap;
  /** The moves, in pairs (hot shard out, cold shard back); empty when nothing moves. */
  readonly moves: Move[];
  /** Members that are overloaded after these swaps (more swaps may follow in a later call, or none can help). */
  readonly overloaded: string[];
  /** Reliefs the move budget cut short, still above the settle line: hand them to the next call. */
  readonly relieving: Relief[];
}

/** The swaps (see the module doc) that take load off overloaded members, group by group. */
export function balanceLoad(map: ShardMap, members: readonly Member[], load: ReadonlyMap<number, number>, opts: LoadBalanceOptions): LoadPlan {
  const factor = opts.factor;
  const settle = opts.settle ?? (1 + factor) / 2;
  if (!(factor > 1) || !(settle >= 1 && settle <= factor) || !(opts.maxMoves >= 0)) {
    throw new RangeError(`load balancing needs factor > 1, 1 ≤ settle ≤ factor and maxMoves ≥ 0 (got ${factor}, ${settle}, ${opts.maxMoves})`);
  }
  const owners = map.owners.slice();
  const moves: Move[] = [];
  const overloaded: string[] = [];
  const relieving: Relief[] = [];
  const groups = [{ base: 0, size: map.shardCount, roles: undefined as readonly string[] | undefined }, ...(map.groups ?? [])];
  for (const g of groups) {
    const budget = () => opts.maxMoves - moves.length;
    const el = hosts(members, g.roles).filter(isEligible);
    const state = groupState(owners, g.base, g.size, el, load, opts.recent);
    if (state === undefined || state.total < (opts.minLoad ?? 10)) continue;
    const share = (id: string) => (state.total * state.weight.get(id)!) / state.totalWeight;
    // Members being relieved: over the factor once, swapped off until within the settle line.
    const relief = new Set((opts.relieving ?? []).flatMap((r) => (r.group === g.base && state.load.has(r.member) ? [r.member] : [])));
    const line = (id: string) => (relief.has(id) ? settle : factor) * share(id);
    for (;;) {
      // The member most over its share, relative to that share, of those over their line.
      const donor = [...state.load.keys()]
        .filter((id) => state.load.get(id)! > line(id))
        .sort((a, b) => state.load.get(b)! / share(b) - state.load.get(a)! / share(a) || (a < b ? -1 : 1))[0];
      if (donor === undefined) break;
      relief.add(donor);
      if (budget() < 2) break;
      if (!swapOnce(state, donor, settle * share(donor), share, owners, moves)) {
        // No swap helps it: its relief ends here (it stays overloaded if it is over the factor).
        relief.delete(donor);
        break;
      }
    }
    for (const [id, l] of state.load) if (l > factor * share(id)) overloaded.push(id);
    for (const id of relief) if (state.load.get(id)! > settle * share(id)) relieving.push({ group: g.base, member: id });
  }
  if (moves.length === 0) return { map, moves, overloaded, relieving };
  return { map: { ...map, version: map.version + 1, owners }, moves, overloaded, relieving };
}

/** One group's members, their loads and their movable shards. */
interface GroupState {
  readonly load: Map<string, number>;
  readonly weight: Map<string, number>;
  readonly shards: Map<string, number[]>;
  readonly shardLoad: (s: number) => number;
  readonly total: number;
  readonly totalWeight: number;
}

function groupState(
  owners: readonly (string | null)[],
  base: number,
  size: number,
  el: readonly Member[],
  load: ReadonlyMap<number, number>,
  recent: ReadonlySet<number> | undefined,
): GroupState | undefined {
  if (el.length < 2) return undefined;
  const shardLoad = (s: number) => Math.max(0, load.get(s) ?? 0);
  const state: GroupState = {
    load: new Map(el.map((m) => [m.id, 0])),
    weight: new Map(el.map((m) => [m.id, m.weight])),
    shards: new Map(el.map((m) => [m.id, []])),
    shardLoad,
    total: 0,
    totalWeight: el.reduce((t, m) => t + m.weight, 0),
  };
  let total = 0;
  for (let s = base; s < base + size; s++) {
    const o = owners[s];
    if (o === null || o === undefined || !state.load.has(o)) continue;
    state.load.set(o, state.load.get(o)! + shardLoad(s));
    total += shardLoad(s);
    if (recent?.has(s) !== true) state.shards.get(o)!.push(s);
  }
  return { ...state, total };
}

/**
 * One swap off `donor`: the hot shard and the receiver's cold shard whose difference comes
 * closest to half the gap between them, the receiver being the least loaded member relative
 * to its share. False when no swap lowers the pair's larger load, or the donor is within `stopAt`.
 */
function swapOnce(state: GroupState, donor: string, stopAt: number, share: (id: string) => number, owners: (string | null)[], moves: Move[]): boolean {
  const d = state.load.get(donor)!;
  if (d <= stopAt) return false;
  const receivers = [...state.load.keys()]
    .filter((id) => id !== donor)
    .sort((a, b) => state.load.get(a)! / share(a) - state.load.get(b)! / share(b) || (a < b ? -1 : 1));
  for (const recv of receivers) {
    const r = state.load.get(recv)!;
    const gap = d - r;
    if (gap <= 0) return false;
    const cold = coldest(state.shards.get(recv)!, state.shardLoad);
    if (cold === undefined) continue;
    const c = state.shardLoad(cold);
    // The hot shard whose net transfer (its load less the cold one's) is nearest half the gap,
    // and below the gap: the pair's larger load goes down.
    let best: number | undefined;
    let bestMiss = Number.POSITIVE_INFINITY;
    for (const s of state.shards.get(donor)!) {
      const net = state.shardLoad(s) - c;
      if (net <= 0 || net >= gap) continue;
      const miss = Math.abs(net - gap / 2);
      if (miss < bestMiss || (miss === bestMiss && s < best!)) {
        best = s;
        bestMiss = miss;
      }
    }
    if (best === undefined) continue;
    const net = state.shardLoad(best) - c;
    owners[best] = recv;
    owners[cold] = donor;
    moves.push({ shard: best, from: donor, to: recv }, { shard: cold, from: recv, to: donor });
    state.load.set(donor, d - net);
    state.load.set(recv, r + net);
    const ds = state.shards.get(donor)!;
    const rs = state.shards.get(recv)!;
    ds.splice(ds.indexOf(best), 1);
    rs.splice(rs.indexOf(cold), 1);
    return true;
  }
  return false;
}

/** The least loaded of `shards` (lowest number on a tie), or undefined when there is none. */
function coldest(shards: readonly number[], shardLoad: (s: number) => number): number | undefined {
  let out: number | undefined;
  for (const s of shards) if (out === undefined || shardLoad(s) < shardLoad(out) || (shardLoad(s) === shardLoad(out) && s < out)) out = s;
  return out;
}
