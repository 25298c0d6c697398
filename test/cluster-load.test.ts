import { describe, expect, it } from "vitest";
import { ClusterLoad } from "../cluster/cluster-load.js";
import type { LoadReport } from "../cluster/load-report.js";
import { ManualClock } from "../src/clock.js";

type Shard = [shard: number, turnsPerSec: number, mailbox?: number, actors?: number, stateBytes?: number];
type Hot = [type: string, id: string, shard: number, turnsPerSec: number];

function report(node: string, shards: Shard[], hot: Hot[] = [], every = 1000): LoadReport {
  return {
    node,
    at: 0,
    every,
    shards: shards.map(([shard, turnsPerSec, mailbox = 0, actors = 1, stateBytes = 0]) => ({ shard, turnsPerSec, mailbox, actors, stateBytes })),
    hot: hot.map(([type, id, shard, turnsPerSec]) => ({ type, id, shard, turnsPerSec })),
  };
}

function setup(members = ["a", "b", "c"]) {
  const clock = new ManualClock();
  const live = new Set(members);
  const load = new ClusterLoad({ clock, isMember: (id) => live.has(id) });
  return { clock, live, load };
}

describe("ClusterLoad (the leader's view of the members' reports)", () => {
  it("answers per shard, per node and the hottest actors from the latest report of each node", () => {
    const { load } = setup();
    load.accept(
      report(
        "a",
        [
          [1, 10, 2, 3, 100],
          [2, 500],
        ],
        [["account", "x", 2, 400]],
      ),
    );
    load.accept(report("b", [[3, 50]], [["account", "y", 3, 50]]));
    expect(load.shards().get(1)).toEqual({ shard: 1, node: "a", turnsPerSec: 10, mailbox: 2, actors: 3, stateBytes: 100 });
    expect([...load.turnRates()]).toEqual([
      [1, 10],
      [2, 500],
      [3, 50],
    ]);
    expect(load.hotShards(2).map((s) => s.shard)).toEqual([2, 3]);
    expect(load.hot(1)).toEqual([{ type: "account", id: "x", shard: 2, node: "a", turnsPerSec: 400 }]);
    expect(load.nodes()).toEqual([
      { node: "a", turnsPerSec: 510, mailbox: 2, actors: 4, stateBytes: 100, shards: 2, age: 0 },
      { node: "b", turnsPerSec: 50, mailbox: 0, actors: 1, stateBytes: 0, shards: 1, age: 0 },
    ]);
    // A newer report replaces the node's previous one entirely: shard 2 went quiet and left it.
    load.accept(report("a", [[1, 20]]));
    expect(load.shards().has(2)).toBe(false);
    expect(load.hot().map((h) => h.id)).toEqual(["y"]);
  });

  it("sums a shard two nodes report (around a move) and names the busier one", () => {
    const { load } = setup();
    load.accept(report("a", [[7, 30, 1, 2, 10]]));
    load.accept(report("b", [[7, 70, 0, 1, 5]]));
    expect(load.shards().get(7)).toEqual({ shard: 7, node: "b", turnsPerSec: 100, mailbox: 1, actors: 3, stateBytes: 15 });
  });

  it("keeps one entry for an actor two nodes list, the busier", () => {
    const { load } = setup();
    load.accept(report("a", [[7, 30]], [["account", "x", 7, 30]]));
    load.accept(report("b", [[7, 70]], [["account", "x", 7, 70]]));
    expect(load.hot()).toEqual([{ type: "account", id: "x", shard: 7, node: "b", turnsPerSec: 70 }]);
  });

  it("refuses reports of non-members and forgets members that left", () => {
    const { load, live } = setup(["a"]);
    expect(load.accept(report("z", [[1, 5]]))).toBe(false);
    expect(load.shards().size).toBe(0);
    expect(load.accept(report("a", [[1, 5]]))).toBe(true);
    live.delete("a");
    load.forget("a");
    expect(load.shards().size).toBe(0);
    expect(load.nodes()).toEqual([]);
  });

  it("drops a report three of its node's intervals old (a frozen node), measured on the leader's clock", () => {
    const { load, clock } = setup();
    load.accept(report("a", [[1, 5]], [], 1000));
    load.accept(report("b", [[2, 5]], [], 4000));
    clock.advance(2999);
    expect([...load.shards().keys()]).toEqual([1, 2]);
    expect(load.nodes().map((n) => [n.node, n.age])).toEqual([
      ["a", 2999],
      ["b", 2999],
    ]);
    clock.advance(1);
    expect([...load.shards().keys()]).toEqual([2]);
    expect(load.reporting).toBe(1);
    clock.advance(9000);
    expect(load.hotShards()).toEqual([]);
  });

  it("answers from one computation until a report changes it", () => {
    const { load } = setup();
    load.accept(report("a", [[1, 5]]));
    const first = load.shards();
    expect(load.shards()).toBe(first);
    expect(load.turnRates()).toBe(load.turnRates());
    load.accept(report("b", [[2, 5]]));
    expect(load.shards()).not.toBe(first);
    load.clear();
    expect(load.shards().size).toBe(0);
  });
});
