import { describe, expect, it } from "vitest";
import { mergeRequests } from "../cluster/cluster-requests.js";
import { bucketMs, LATENCY_BUCKETS, latencyBucket, quantileMs } from "../cluster/latency-histogram.js";
import { RequestStats } from "../cluster/request-stats.js";
import { ManualClock } from "../src/clock.js";

const hosted = new Set(["account", "sequencer"]);
const make = (clock: ManualClock, window?: number) => new RequestStats({ clock, hosts: (t) => hosted.has(t), window });

describe("latency buckets", () => {
  it("read back within ±4.5 % from 1 µs to a minute", () => {
    for (let us = 1; us < 60e6; us *= 1.37) {
      const ms = bucketMs(latencyBucket(us / 1e6));
      expect(Math.abs(ms - us / 1000) / (us / 1000)).toBeLessThan(0.045);
    }
  });

  it("clamp what is out of range: negative, NaN and sub-microsecond to the first, hours to the last", () => {
    for (const s of [-1, Number.NaN, 0, 1e-9]) expect(latencyBucket(s)).toBe(0);
    expect(latencyBucket(3600)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucket(Number.POSITIVE_INFINITY)).toBe(LATENCY_BUCKETS - 1);
  });

  it("give quantiles by rank", () => {
    const h = new Float64Array(LATENCY_BUCKETS);
    h[latencyBucket(0.001)] = 98; // 98 at 1 ms
    h[latencyBucket(0.5)] = 2; // 2 at 500 ms
    expect(quantileMs(h, 0.5)).toBeCloseTo(1, 1);
    expect(quantileMs(h, 0.98)).toBeCloseTo(1, 1);
    expect(quantileMs(h, 0.99)! / 500).toBeCloseTo(1, 1);
    expect(quantileMs(new Float64Array(LATENCY_BUCKETS), 0.5)).toBeNull();
  });
});

describe("RequestStats", () => {
  it("counts per type and in total: rates over the window, error ratio, codes, quantiles of asks and sends only", () => {
    const clock = new ManualClock(1_000_000);
    const stats = make(clock);
    clock.advance(10_000); // a node up for longer than the window
    for (let i = 0; i < 100; i++) stats.record("account", "ask", "ok", 0.002);
    for (let i = 0; i < 4; i++) stats.record("account", "ask", "TIMEOUT", 5);
    stats.record("account", "send", "ACTOR_MOVED", 0.002);
    for (let i = 0; i < 50; i++) stats.record("sequencer", "tell", "accepted", 60); // tells: no latency
    const s = stats.summary();
    expect(s.seconds).toBe(9); // 9 whole seconds before this one, which just began
    const account = s.types.find((t) => t.type === "account")!;
    expect(account).toMatchObject({ requests: 105, asks: 104, sends: 1, tells: 0, errors: 5, codes: { ACTOR_MOVED: 1, TIMEOUT: 4 } });
    expect(account.perSec).toBeCloseTo(105 / 9, 2);
    expect(account.errorRatio).toBeCloseTo(5 / 105, 3);
    expect(account.p50Ms! / 2).toBeCloseTo(1, 1);
    expect(account.p99Ms! / 5000).toBeCloseTo(1, 1);
    const sequencer = s.types.find((t) => t.type === "sequencer")!;
    expect(sequencer).toMatchObject({ requests: 50, tells: 50, errors: 0, errorRatio: 0, p50Ms: null, p99Ms: null, latency: [] });
    expect(s.total).toMatchObject({ requests: 155, errors: 5 });
    expect(s.total.p50Ms! / 2).toBeCloseTo(1, 1);
    expect(s.types.map((t) => t.type)).toEqual(["account", "sequencer"]);
  });

  it("forgets what is older than the window, a second at a time", () => {
    const clock = new ManualClock(0);
    const stats = make(clock, 10);
    clock.advance(20_000);
    for (let i = 0; i < 10; i++) {
      stats.record("account", "ask", "ok", 0.001);
      clock.advance(1000);
    }
    expect(stats.summary().total.requests).toBe(9); // the first second dropped out as the 11th began
    clock.advance(5000);
    expect(stats.summary().total.requests).toBe(4);
    clock.advance(60_000);
    const s = stats.summary();
    expect(s.types).toEqual([]);
    expect(s.total).toMatchObject({ requests: 0, perSec: 0, errorRatio: 0, p50Ms: null, p99Ms: null });
  });

  it("measures a young node's rate over its age, not the whole window", () => {
    const clock = new ManualClock(5_000_500);
    const stats = make(clock, 10);
    clock.advance(2000);
    for (let i = 0; i < 20; i++) stats.record("account", "ask", "ok", 0.001);
    const s = stats.summary();
    expect(s.seconds).toBe(2);
    expect(s.total.perSec).toBe(10);
  });

  it("bounds what clients can name: unknown types count as other, error codes past 8 as other", () => {
    const clock = new ManualClock(0);
    const stats = make(clock);
    for (let i = 0; i < 1000; i++) stats.record(`made-up-${i}`, "ask", `CODE_${i}`, 0.001);
    stats.record("", "ask", "BAD_REQUEST", 0);
    const s = stats.summary();
    expect(s.types.map((t) => t.type)).toEqual(["other"]);
    expect(s.types[0]!.requests).toBe(1001);
    expect(Object.keys(s.types[0]!.codes).length).toBeLessThanOrEqual(9);
    expect(Object.values(s.types[0]!.codes).reduce((a, b) => a + b, 0)).toBe(1001);
  });

  it("hook records, then calls the next hook", () => {
    const clock = new ManualClock(0);
    const stats = make(clock);
    const seen: string[] = [];
    stats.hook((type, verb, outcome) => seen.push(`${type} ${verb} ${outcome}`))("account", "ask", "ok", 0.001);
    expect(seen).toEqual(["account ask ok"]);
    expect(stats.summary().total.requests).toBe(1);
    expect(() => new RequestStats({ clock, hosts: () => true, window: 0 })).toThrow(RangeError);
  });
});

describe("mergeRequests (the cluster's view from the members' statuses)", () => {
  it("sums counts and rates and merges the histograms: the quantiles are the cluster's, not averages", () => {
    const clock = new ManualClock(0);
    const fast = make(clock);
    const slow = make(clock);
    clock.advance(10_000);
    for (let i = 0; i < 99; i++) fast.record("account", "ask", "ok", 0.001);
    slow.record("account", "ask", "TIMEOUT", 2);
    for (let i = 0; i < 10; i++) slow.record("sequencer", "ask", "ok", 0.004);
    const merged = mergeRequests([
      { node: "n2", requests: slow.summary() },
      { node: "n1", requests: fast.summary() },
      { node: "n3" }, // an older node: no stats
    ]);
    expect(merged.types.map((t) => t.type)).toEqual(["account", "sequencer"]);
    const account = merged.types[0]!;
    expect(account).toMatchObject({ requests: 100, errors: 1, errorRatio: 0.01, codes: { TIMEOUT: 1 } });
    expect(account.p50Ms! / 1).toBeCloseTo(1, 1);
    expect(account.p99Ms! / 1).toBeCloseTo(1, 1); // rank 99 of 100 is still a fast one
    expect(account.nodes.map((n) => [n.node, n.requests, n.errors])).toEqual([
      ["n1", 99, 0],
      ["n2", 1, 1],
    ]);
    expect(account.nodes[1]!.p99Ms! / 2000).toBeCloseTo(1, 1);
    expect(merged.total).toMatchObject({ requests: 110, errors: 1 });
    expect(merged.total.nodes.map((n) => n.node)).toEqual(["n1", "n2"]);
  });

  it("leaves out what a malformed status says, and never throws on it", () => {
    const hostile: unknown[] = [
      null,
      "x",
      [],
      { total: 7, types: "nope" },
      { total: { requests: -5, latency: [[1e9, 1]] }, types: [null, { type: 5 }, { type: "" }, { type: "a".repeat(300) }] },
      {
        total: { requests: 2, errors: 99, latency: [[3, Number.NaN], [-1, 5], "junk", [10, 2]], codes: { X: "many" }, p50Ms: "fast" },
        types: [{ type: "account", requests: Number.POSITIVE_INFINITY }],
      },
      { total: { requests: 1, latency: { length: 5 } }, types: Array.from({ length: 500 }, (_, i) => ({ type: `t${i}`, requests: 1 })) },
    ];
    const merged = mergeRequests(hostile.map((requests, i) => ({ node: `n${i}`, requests })));
    expect(merged.total.requests).toBe(3);
    expect(merged.total.errorRatio).toBeLessThanOrEqual(1);
    expect(merged.total.latency).toEqual([[10, 2]]);
    expect(merged.total.codes).toEqual({ X: 0 });
    expect(merged.types.length).toBe(64);
    expect(JSON.stringify(merged)).not.toMatch(/NaN|Infinity/);
  });
});
