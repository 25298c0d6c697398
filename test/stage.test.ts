import { describe, expect, it } from "vitest";
import type { Member, ShardMap } from "../cluster/placement.js";
import { minimumMoves, plan, stage } from "../cluster/plan.js";

const member = (id: string, state: Member["state"] = "active"): Member => ({ id, weight: 1, state });

/** Plans and stages from `map` until nothing moves; returns every step. */
function steps(map: ShardMap, members: Member[], maxHandoffs: number) {
  const out = [];
  for (let current = map; ; ) {
    const step = stage(current, plan(current, members), members, { maxHandoffs });
    if (step.moves.length === 0) return out;
    out.push(step);
    current = step.map;
  }
}

describe("stage: a rebalance in steps of bounded handoffs", () => {
  const S = 64;
  const one = plan(undefined, [member("a")], { shardCount: S }).map;

  it("moves at most maxHandoffs live shards per map and reaches the plan's balance with the minimum moves in total", () => {
    const members = [member("a"), member("b")];
    const all = steps(one, members, 3);
    expect(all.every((s) => s.moves.length <= 3 && s.handoffs === s.moves.length)).toBe(true);
    expect(all.reduce((n, s) => n + s.moves.length, 0)).toBe(minimumMoves(one, members));
    expect(all.at(-1)!.remaining).toBe(0);
    expect(all.at(-1)!.map.owners).toEqual(plan(one, members).map.owners);
    expect(all.map((s) => s.map.version)).toEqual(all.map((_, i) => 2 + i));
  });

  it("counts the handoffs left for later steps", () => {
    const first = stage(one, plan(one, [member("a"), member("b")]), [member("a"), member("b")], { maxHandoffs: 4 });
    expect(first.handoffs).toBe(4);
    expect(first.remaining).toBe(S / 2 - 4);
    // Only the staged shards changed owner; everything else is as before.
    const changed = first.map.owners.flatMap((o, shard) => (o === one.owners[shard] ? [] : [shard]));
    expect(changed).toEqual(first.moves.map((m) => m.shard));
  });

  it("moves a drained member's shards in steps too (it is alive and hands them over)", () => {
    const two = plan(one, [member("a"), member("b")]).map;
    const members = [member("a"), member("b", "draining")];
    const all = steps(two, members, 5);
    expect(all.length).toBe(Math.ceil(S / 2 / 5));
    expect(all.at(-1)!.map.owners.every((o) => o === "a")).toBe(true);
  });

  it("moves the shards of a member that is gone all at once: nothing to hand over", () => {
    const two = plan(one, [member("a"), member("b")]).map;
    const step = stage(two, plan(two, [member("a")]), [member("a")], { maxHandoffs: 2 });
    expect(step.moves.length).toBe(S / 2);
    expect(step.handoffs).toBe(0);
    expect(step.remaining).toBe(0);
  });

  it("keeps orphans and a bounded number of handoffs in one map when both happen", () => {
    const three = plan(undefined, [member("a"), member("b"), member("c")], { shardCount: S }).map;
    // c is gone (orphans), d joins (handoffs from a and b).
    const members = [member("a"), member("b"), member("d")];
    const step = stage(three, plan(three, members), members, { maxHandoffs: 2 });
    const orphans = three.owners.filter((o) => o === "c").length;
    expect(step.moves.filter((m) => m.from === "c").length).toBe(orphans);
    expect(step.moves.filter((m) => m.from !== "c").length).toBeLessThanOrEqual(2);
    expect(step.map.owners.includes("c")).toBe(false);
  });

  it("leaves a first map alone (nothing is owned yet)", () => {
    const first = plan(undefined, [member("a"), member("b")], { shardCount: S });
    expect(stage(undefined, first, [member("a"), member("b")], { maxHandoffs: 1 }).moves.length).toBe(S);
  });
});
