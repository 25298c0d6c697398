import { describe, expect, it } from "vitest";
import { ClusterLoad } from "../cluster/cluster-load.js";
import { type HotEventBody, HotWatch } from "../cluster/hot-watch.js";
import { ManualClock } from "../src/clock.js";

/**
 * The leader's judgement of hot actors and shards, over reports fed to a real ClusterLoad:
 * thresholds 100 turns/s (actor) and 1000 (shard), cooling below half, one event per 10 s.
 */
function setup() {
  const clock = new ManualClock();
  const load = new ClusterLoad({ clock, isMember: () => true });
  const events: HotEventBody[] = [];
  const watch = new HotWatch({ clock, actorThreshold: 100, shardThreshold: 1000, coolRatio: 0.5, interval: 10_000, publish: (e) => events.push(e) });
  /** Node `node` reports its actors' rates (each actor alone in a shard of the same number as its id). */
  const report = (node: string, rates: Record<string, number>, every = 1000) => {
    const ids = Object.keys(rates);
    load.accept({
      node,
      at: clock.now(),
      every,
      shards: ids.map((id) => ({ shard: Number(id), turnsPerSec: rates[id]!, mailbox: 0, actors: 1, stateBytes: 0 })).sort((a, b) => a.shard - b.shard),
      hot: ids.map((id) => ({ type: "account", id, shard: Number(id), turnsPerSec: rates[id]! })).sort((a, b) => b.turnsPerSec - a.turnsPerSec),
    });
    watch.check(load);
  };
  const announced = () => events.flatMap((e) => e.actors.map((a) => a.id));
  return { clock, load, watch, events, report, announced };
}

describe("HotWatch", () => {
  it("announces an actor that reaches its threshold, once, with the thresholds", () => {
    const { report, events, clock, watch } = setup();
    report("a", { "1": 99.9 });
    expect(events).toEqual([]);
    clock.advance(1000);
    report("a", { "1": 100 });
    expect(events).toEqual([
      {
        type: "hot",
        actors: [{ type: "account", id: "1", shard: 1, node: "a", turnsPerSec: 100 }],
        shards: [],
        more: 0,
        actorThreshold: 100,
        shardThreshold: 1000,
      },
    ]);
    expect(watch.isHotActor("account", "1")).toBe(true);
    for (let i = 0; i < 30; i++) {
      clock.advance(1000);
      report("a", { "1": 150 });
    }
    expect(events).toHaveLength(1); // still hot: nothing more to say
  });

  it("does not flap around the threshold: hot until below threshold × coolRatio", () => {
    const { report, clock, announced, watch } = setup();
    const rates = [120, 95, 105, 60, 51, 101, 49, 60, 99, 100];
    const hotAfter: boolean[] = [];
    for (const r of rates) {
      clock.advance(10_000); // never rate-limited here
      report("a", { "1": r });
      hotAfter.push(watch.isHotActor("account", "1"));
    }
    expect(hotAfter).toEqual([true, true, true, true, true, true, false, false, false, true]);
    expect(announced()).toEqual(["1", "1"]); // became hot twice: at 120, and at 100 after cooling at 49
  });

  it("sends at most one event per interval; what became hot meanwhile waits for the next, a spike that cooled is never told", () => {
    const { report, clock, events, announced } = setup();
    report("a", { "1": 200 });
    expect(announced()).toEqual(["1"]);
    clock.advance(1000);
    report("a", { "1": 200, "2": 300, "3": 150 });
    clock.advance(1000);
    report("a", { "1": 200, "2": 300, "3": 10 }); // 3 cooled before its event
    expect(events).toHaveLength(1);
    clock.advance(7999);
    report("a", { "1": 200, "2": 300, "3": 10 });
    expect(events).toHaveLength(1);
    clock.advance(1);
    report("a", { "1": 200, "2": 300, "3": 10 });
    expect(events).toHaveLength(2);
    expect(announced()).toEqual(["1", "2"]);
    expect(events[1]!.actors[0]!.turnsPerSec).toBe(300);
  });

  it("judges shards by the summed rate of the reports, and cools a shard no report lists", () => {
    const { report, clock, events, watch } = setup();
    report("a", { "7": 600 }, 60_000); // the actor is hot (one event), the shard not yet
    expect(events.map((e) => e.shards)).toEqual([[]]);
    clock.advance(10_000);
    report("b", { "7": 500 }, 60_000); // shard 7 moving from a to b: 1100/s in all, most of it on a
    expect(events.map((e) => e.shards.map((s) => [s.shard, s.turnsPerSec, s.node]))).toEqual([[], [[7, 1100, "a"]]]);
    expect(watch.isHotShard(7)).toBe(true);
    clock.advance(1000);
    report("a", {});
    report("b", {});
    expect(watch.isHotShard(7)).toBe(false);
  });

  it("lists at most 10 of each kind and counts the rest", () => {
    const { report, events } = setup();
    const rates: Record<string, number> = {};
    for (let i = 1; i <= 13; i++) rates[String(i)] = 1000 + i;
    report("a", rates);
    expect(events).toHaveLength(1);
    expect(events[0]!.actors.map((a) => a.id)).toEqual(["13", "12", "11", "10", "9", "8", "7", "6", "5", "4"]);
    expect(events[0]!.shards).toHaveLength(10);
    expect(events[0]!.more).toBe(6);
  });

  it("forgets a hot actor no report lists for forgetAfter, and everything on reset", () => {
    const { report, clock, watch } = setup();
    report("a", { "1": 200, "2": 200 });
    clock.advance(30_000);
    report("a", { "2": 200 });
    expect(watch.isHotActor("account", "1")).toBe(true);
    clock.advance(1);
    report("a", { "2": 200 });
    expect(watch.isHotActor("account", "1")).toBe(false);
    expect(watch.isHotActor("account", "2")).toBe(true);
    watch.reset();
    expect(watch.isHotActor("account", "2")).toBe(false);
  });
});
