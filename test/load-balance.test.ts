import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { balanceLoad, type Member, type ShardGroup, type ShardMap, plan } from "../cluster/internal.js";

const S = 30;
const node = (id: string, roles?: string[]): Member => (roles === undefined ? { id, weight: 1, state: "active" } : { id, weight: 1, state: "active", roles });
const members = [node("a"), node("b"), node("c")];
const base = plan(undefined, members, { shardCount: S }).map;
const shardsOf = (map: ShardMap, id: string, from = 0, to = map.owners.length) => map.owners.slice(from, to).flatMap((o, i) => (o === id ? [from + i] : []));
const nodeLoad = (map: ShardMap, load: ReadonlyMap<number, number>, id: string) => shardsOf(map, id).reduce((t, s) => t + (load.get(s) ?? 0), 0);

/** Five of a's shards hot (100 turns/s each), every other shard at 1. */
function skewed(map: ShardMap): Map<number, number> {
  const load = new Map<number, number>();
  for (let s = 0; s < map.owners.length; s++) load.set(s, 1);
  for (const s of shardsOf(map, "a").slice(0, 5)) load.set(s, 100);
  return load;
}

describe("balanceLoad", () => {
  it("swaps hot shards off an overloaded member until it is within the settle line, counts unchanged", () => {
    const load = skewed(base);
    expect(nodeLoad(base, load, "a")).toBeGreaterThan((1.5 * (nodeLoad(base, load, "a") + nodeLoad(base, load, "b") + nodeLoad(base, load, "c"))) / 3);
    const out = balanceLoad(base, members, load, { factor: 1.5, maxMoves: 20 });
    expect(out.moves.length).toBeGreaterThan(0);
    expect(out.moves.length % 2).toBe(0);
    expect(out.map.version).toBe(base.version + 1);
    const total = [...load.values()].reduce((a, b) => a + b, 0);
    for (const m of members) {
      expect(shardsOf(out.map, m.id)).toHaveLength(shardsOf(base, m.id).length);
      expect(nodeLoad(out.map, load, m.id)).toBeLessThanOrEqual(1.5 * (total / 3));
    }
    expect(out.overloaded).toEqual([]);
    // The count-balanced planner keeps what load balancing did.
    expect(plan(out.map, members).moves).toEqual([]);
  });

  it("relieves an overloaded member down to the settle line, not just under the factor (the hysteresis)", () => {
    // Every one of a's shards hot (10 turns/s), the rest at 1: a carries 100 of 120, its share 40.
    const load = new Map(base.owners.map((o, s) => [s, o === "a" ? 10 : 1]));
    const total = [...load.values()].reduce((x, y) => x + y, 0);
    const share = total / 3;
    // Each swap takes 9 off a: five bring it to 55, under 1.5 × 40 = 60 but over the settle line 1.25 × 40 = 50.
    const out = balanceLoad(base, members, load, { factor: 1.5, maxMoves: 20 });
    expect(nodeLoad(out.map, load, "a")).toBeLessThanOrEqual(1.25 * share);
    expect(out.moves).toHaveLength(12);
    expect(out.overloaded).toEqual([]);
    // With an explicit settle line equal to the factor, it stops as soon as a is under the factor.
    const loose = balanceLoad(base, members, load, { factor: 1.5, settle: 1.5, maxMoves: 20 });
    expect(nodeLoad(loose.map, load, "a")).toBeGreaterThan(1.25 * share);
    expect(nodeLoad(loose.map, load, "a")).toBeLessThanOrEqual(1.5 * share);
  });

  it("hands a relief the move budget cut short to the next call, which takes it on to the settle line", () => {
    const load = new Map(base.owners.map((o, s) => [s, o === "a" ? 10 : 1]));
    const share = [...load.values()].reduce((x, y) => x + y, 0) / 3;
    const first = balanceLoad(base, members, load, { factor: 1.5, maxMoves: 10 });
    expect(nodeLoad(first.map, load, "a")).toBe(55); // under the factor (60), over the settle line (50)
    expect(first.overloaded).toEqual([]);
    expect(first.relieving).toEqual([{ group: 0, member: "a" }]);
    const recent = new Set(first.moves.map((m) => m.shard));
    // Alone, a member under the factor is left where it is…
    expect(balanceLoad(first.map, members, load, { factor: 1.5, maxMoves: 10, recent }).moves).toEqual([]);
    // …but a relief under way goes on.
    const next = balanceLoad(first.map, members, load, { factor: 1.5, maxMoves: 10, recent, relieving: first.relieving });
    expect(next.moves).toHaveLength(2);
    expect(nodeLoad(next.map, load, "a")).toBeLessThanOrEqual(1.25 * share);
    expect(next.relieving).toEqual([]);
    // A relief named for another group, or for a member that is not there, changes nothing.
    expect(
      balanceLoad(first.map, members, load, {
        factor: 1.5,
        maxMoves: 10,
        recent,
        relieving: [
          { group: 30, member: "a" },
          { group: 0, member: "z" },
        ],
      }).moves,
    ).toEqual([]);
  });

  it("moves at most maxMoves shards, and leaves the rest for a later call", () => {
    const load = skewed(base);
    const out = balanceLoad(base, members, load, { factor: 1.2, maxMoves: 2 });
    expect(out.moves).toHaveLength(2);
    expect(out.overloaded).toEqual(["a"]);
    const next = balanceLoad(out.map, members, load, { factor: 1.2, maxMoves: 2, recent: new Set(out.moves.map((m) => m.shard)) });
    expect(next.moves).toHaveLength(2);
    for (const m of next.moves) expect(out.moves.map((x) => x.shard)).not.toContain(m.shard);
  });

  it("leaves a member under the factor alone (hysteresis), and a quiet group too", () => {
    const load = new Map<number, number>();
    for (const [s, o] of base.owners.entries()) load.set(s, o === "a" ? 14 : 10); // a at 1.27× its share
    expect(balanceLoad(base, members, load, { factor: 1.5, maxMoves: 10 }).moves).toEqual([]);
    const quiet = new Map([...load].map(([s, l]) => [s, l / 1000]));
    expect(balanceLoad(base, members, quiet, { factor: 1.1, maxMoves: 10 }).moves).toEqual([]);
  });

  it("does not just pass one hot shard around: a shard hotter than the gap stays put", () => {
    const load = new Map<number, number>();
    load.set(shardsOf(base, "a")[0]!, 1000);
    const out = balanceLoad(base, members, load, { factor: 1.5, maxMoves: 10 });
    expect(out.moves).toEqual([]);
    expect(out.overloaded).toEqual(["a"]);
  });

  it("balances each role group over its own members only", () => {
    const gpu: ShardGroup = { roles: ["gpu"], types: ["render"], base: S, size: S };
    const all = [node("a"), node("g1", ["gpu"]), node("g2", ["gpu"])];
    const map = plan(undefined, all, { shardCount: S, groups: [gpu] }).map;
    const load = new Map<number, number>();
    for (const s of shardsOf(map, "g1", S, 2 * S).slice(0, 4)) load.set(s, 100);
    const out = balanceLoad(map, all, load, { factor: 1.5, maxMoves: 10 });
    expect(out.moves.length).toBeGreaterThan(0);
    for (const m of out.moves) {
      expect(m.shard).toBeGreaterThanOrEqual(S);
      expect(["g1", "g2"]).toContain(m.to);
    }
  });

  it("never raises the most loaded member's load, never breaks count bounds, never exceeds maxMoves", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 500 }), { minLength: S, maxLength: S }), fc.integer({ min: 0, max: 12 }), (loads, maxMoves) => {
        const load = new Map(loads.map((l, s) => [s, l]));
        const out = balanceLoad(base, members, load, { factor: 1.3, maxMoves });
        expect(out.moves.length).toBeLessThanOrEqual(maxMoves);
        const max = (m: ShardMap) => Math.max(...members.map((x) => nodeLoad(m, load, x.id)));
        expect(max(out.map)).toBeLessThanOrEqual(max(base));
        for (const m of members) expect(shardsOf(out.map, m.id)).toHaveLength(shardsOf(base, m.id).length);
        expect(plan(out.map, members).moves).toEqual([]);
      }),
    );
  });

  it("refuses nonsense options", () => {
    expect(() => balanceLoad(base, members, new Map(), { factor: 1, maxMoves: 2 })).toThrow(RangeError);
    expect(() => balanceLoad(base, members, new Map(), { factor: 1.5, settle: 2, maxMoves: 2 })).toThrow(RangeError);
  });
});
