/**
 * Placement quality: balance of a fresh map, shards moved on one join / one leave against the
 * minimum, and planning time, for 3, 10 and 32 equal nodes over 1024 shards.
 */
import { DEFAULT_SHARD_COUNT, balance, minimumMoves, plan, type Member } from "../cluster/internal.js";

/** One bench result; extra fields carry the details. */
export interface PlacementResult {
  name: string;
  value: number;
  unit: string;
  [k: string]: unknown;
}

const member = (id: string, state: Member["state"] = "active"): Member => ({ id, weight: 1, state });

/** Median wall time of `fn` in ms over `runs` runs (after one warm-up). */
function timeMs(fn: () => unknown, runs = 21): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[runs >> 1]!;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/** Computes the placement quality rows for 3, 10 and 32 nodes. */
export function placementQuality(nodeCounts: readonly number[] = [3, 10, 32], shards = DEFAULT_SHARD_COUNT): PlacementResult[] {
  const rows: PlacementResult[] = [];
  for (const n of nodeCounts) {
    const members = Array.from({ length: n }, (_, i) => member(`node-${i}`));
    const common = { nodes: n, shards };
    const fresh = plan(undefined, members, { shardCount: shards }).map;
    const b = balance(fresh, members);
    rows.push({ name: `placement.balance.n${n}`, value: round(b.ratio), unit: "max/mean", ...common, max: b.max, mean: round(b.mean) });

    const moves = (kind: string, after: Member[], extra: Record<string, number> = {}): PlacementResult => {
      const p = plan(fresh, after);
      const min = minimumMoves(fresh, after);
      return {
        name: `placement.${kind}_moves.n${n}`,
        value: p.moves.length,
        unit: "shards",
        ...common,
        minimum: min,
        vsMinimum: round(p.moves.length / min),
        ...extra,
        balanceAfter: round(balance(p.map, after).ratio),
      };
    };
    const joined = [...members, member("joiner", "joining")];
    const left = members.slice(1);
    rows.push(moves("join", joined, { ideal: round(shards / (n + 1), 2) }));
    rows.push(moves("leave", left));

    rows.push({
      name: `placement.plan_time.n${n}`,
      value: round(
        timeMs(() => plan(undefined, members, { shardCount: shards })),
        3,
      ),
      unit: "ms",
      ...common,
      what: "fresh map (median)",
      joinMs: round(
        timeMs(() => plan(fresh, joined)),
        3,
      ),
      leaveMs: round(
        timeMs(() => plan(fresh, left)),
        3,
      ),
    });
  }
  return rows;
}
