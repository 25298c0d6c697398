import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ElectionEvent } from "../cluster/election.js";
import type { HotEventBody } from "../cluster/hot-watch.js";
import { resolveLoadOptions } from "../cluster/load-options.js";
import { encodeLoadReport } from "../cluster/load-report.js";
import { LoadReporter, untilBoundary } from "../cluster/load-reporter.js";
import { LoadService } from "../cluster/load-service.js";
import type { MemberRecord, MembershipChange } from "../cluster/membership.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ManualClock } from "../src/clock.js";
import { loadSubject } from "../src/nats-names.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";

/** Core NATS in memory: publish delivers at once to the subscriptions whose subject matches (`*` one token). */
class FakeNats {
  readonly subs = new Set<{ subject: string; callback: (err: null, msg: { subject: string; data: Uint8Array }) => void }>();
  subscribe(subject: string, opts: { callback: (err: null, msg: { subject: string; data: Uint8Array }) => void }) {
    const sub = { subject, callback: opts.callback };
    this.subs.add(sub);
    return { unsubscribe: () => this.subs.delete(sub) };
  }
  publish(subject: string, data: Uint8Array): void {
    for (const s of [...this.subs]) if (matches(s.subject, subject)) s.callback(null, { subject, data });
  }
}

function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  return p.length === s.length && p.every((t, i) => t === "*" || t === s[i]);
}

const ping = defineInMemoryActor<number, unknown, number>({
  type: "ping",
  initialState: () => 0,
  validate: (m) => m,
  handle: (n) => ({ state: n + 1, reply: n + 1 }),
  serialize: (n) => n,
  deserialize: (d) => d as number,
});

/** An `onChange` over a set of listeners: adds one, returns its removal. */
function subscriber<T>(listeners: Set<(e: T) => void>) {
  return (l: (e: T) => void) => {
    listeners.add(l);
    return () => void listeners.delete(l);
  };
}

/** Shard = the number in the id. */
const shardOf = (_: string, id: string) => Number(id.replace(/\D/g, "")) || 0;

/** A node's load service over the fake NATS, with an election and a membership the test drives. */
function node(nc: FakeNats, clock: ManualClock, id: string, members: Set<string>, owned: number[] = []) {
  const runtime = new Runtime({ nodeId: id, store: new MemoryEventStore(), actors: [ping], clock, partitionOf: shardOf, passivationInterval: 1e9 });
  const electionListeners = new Set<(e: ElectionEvent) => void>();
  const memberListeners = new Set<(c: MembershipChange) => void>();
  let leads = false;
  const events: HotEventBody[] = [];
  const logged: Array<{ msg: string; dropped?: number }> = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });
  const service = new LoadService({
    nc: nc as never,
    cluster: "c",
    nodeId: id,
    clock,
    log,
    meter: runtime.meter,
    options: resolveLoadOptions({ hotActorTurnsPerSec: 50, hotShardTurnsPerSec: 500 }, 1000),
    owns: (s) => owned.includes(s),
    election: {
      isLeader: () => leads,
      onChange: subscriber(electionListeners),
    },
    membership: {
      records: () => [...members].map((m): MemberRecord => ({ id: m, weight: 1, state: "active", startedAt: 0 })),
      onChange: subscriber(memberListeners),
    },
    publish: (e) => events.push(e),
  });
  return {
    runtime,
    service,
    events,
    logged,
    elect() {
      leads = true;
      for (const l of electionListeners) l({ kind: "elected", epoch: 1 });
    },
    /** The lease runs out before the election notices (a frozen leader waking): no event yet. */
    lapse() {
      leads = false;
    },
    stepDown() {
      leads = false;
      for (const l of electionListeners) l({ kind: "stepped-down", epoch: 1, reason: "test" });
    },
    left(who: string) {
      members.delete(who);
      for (const l of memberListeners) l({ joined: [], updated: [], left: [who] });
    },
    async drive(actorId: string, turns: number) {
      await Promise.all(Array.from({ length: turns }, () => runtime.ask("ping", actorId, {})));
    },
  };
}

function cluster() {
  const nc = new FakeNats();
  const clock = new ManualClock();
  const members = new Set(["a", "b"]);
  const a = node(nc, clock, "a", members, [1, 2]);
  const b = node(nc, clock, "b", members, [3]);
  a.elect();
  a.service.start();
  b.service.start(); // both report at once (nothing yet), then every second
  return { nc, clock, a, b };
}

describe("LoadService (reports over NATS, collected by the leader)", () => {
  it("the leader alone collects every member's reports, and sees a hot actor and its event", async () => {
    const { clock, a, b, nc } = cluster();
    expect([...nc.subs].filter((s) => s.subject === "shoal.c.load.*")).toHaveLength(1); // a's, not b's
    await b.drive("x3", 300);
    await a.drive("y1", 20);
    clock.advance(1000);
    const summary = a.service.summary()!;
    expect(summary.nodes.map((n) => [n.node, n.turnsPerSec])).toEqual([
      ["a", 20],
      ["b", 300],
    ]);
    expect(summary.actors.map((x) => [x.id, x.node, x.turnsPerSec, x.hot])).toEqual([
      ["x3", "b", 300, true],
      ["y1", "a", 20, false],
    ]);
    expect(summary.shards.map((s) => [s.shard, s.node, s.hot])).toEqual([
      [3, "b", false],
      [1, "a", false],
    ]);
    expect(a.service.load.turnRates().get(3)).toBe(300);
    expect(b.service.summary()).toBeUndefined();
    expect(b.service.nodeLoad()).toMatchObject({ node: "b", turnsPerSec: 300, actors: 1, shards: 1 });
    expect(a.events.map((e) => e.actors.map((x) => x.id))).toEqual([["x3"]]);
    expect(b.events).toEqual([]);
  });

  it("drops and logs malformed reports (rate-limited), never throws, and goes on with good ones", async () => {
    const { clock, a, b, nc } = cluster();
    const garbage: Array<[string, Uint8Array]> = [
      [loadSubject("c", "b"), new Uint8Array([0xc1, 0xff])],
      [loadSubject("c", "a"), encodeLoadReport({ node: "b", at: 0, every: 1000, shards: [], hot: [] })], // b posing as a
      ["shoal.c.load.!!", new Uint8Array([0x80])],
    ];
    for (const [subject, data] of garbage) expect(() => nc.publish(subject, data)).not.toThrow();
    expect(a.logged.filter((l) => l.msg === "load report dropped")).toHaveLength(1); // one line for the burst
    await b.drive("x3", 100);
    clock.advance(1000);
    expect(a.service.load.turnRates().get(3)).toBe(100);
    clock.advance(10_000);
    nc.publish(loadSubject("c", "b"), new Uint8Array([0xc1]));
    const lines = a.logged.filter((l) => l.msg === "load report dropped");
    expect(lines.map((l) => l.dropped)).toEqual([1, 3]);
  });

  it("forgets a member that left, and everything when it stops leading", async () => {
    const { clock, a, b } = cluster();
    await b.drive("x3", 100);
    clock.advance(1000);
    expect(a.service.load.reporting).toBe(2);
    a.left("b");
    expect(a.service.load.reporting).toBe(1);
    clock.advance(1000); // b still reports: refused, it is no member
    expect(a.service.load.reporting).toBe(1);
    a.lapse();
    expect(a.service.summary()).toBeUndefined(); // no cluster load from a node that does not hold the lease
    a.stepDown();
    expect(a.service.summary()).toBeUndefined();
    expect(a.service.load.reporting).toBe(0);
    b.elect();
    clock.advance(1000);
    expect(b.service.summary()!.nodes.map((n) => n.node)).toEqual(["a"]); // b is no member in its own test view
  });

  it("reports shards it owns or holds actors of, not the fading rate of a shard that moved away", async () => {
    const { clock, a } = cluster();
    await a.drive("z2", 100); // shard 2: owned
    await a.drive("z9", 100); // shard 9: not owned, but its actor is here
    clock.advance(1000);
    expect(a.service.load.shards().has(9)).toBe(true);
    await a.runtime.stop(); // the actors leave (as on a handoff); shard 9's rate only fades
    clock.advance(1000);
    expect([...a.service.load.shards().keys()]).toEqual([2]);
    a.service.stop();
  });
});

describe("LoadReporter's timing", () => {
  it("samples on the clock's multiples of its interval, so every node's reports cover the same window", () => {
    const clock = new ManualClock(1234);
    const runtime = new Runtime({ nodeId: "n", store: new MemoryEventStore(), actors: [ping], clock, partitionOf: shardOf, passivationInterval: 1e9 });
    const seen: number[] = [];
    const reporter = new LoadReporter({
      nc: { publish: () => undefined } as never,
      cluster: "c",
      nodeId: "n",
      clock,
      log: pino({ level: "silent" }),
      meter: runtime.meter,
      every: 1000,
      owns: () => true,
    });
    const report = reporter.report.bind(reporter);
    reporter.report = () => {
      seen.push(clock.now());
      return report();
    };
    reporter.start();
    for (let i = 0; i < 30; i++) clock.advance(100);
    reporter.stop();
    expect(seen).toEqual([1234, 2000, 3000, 4000]);
    expect(untilBoundary(5000, 1000)).toBe(1000);
    expect(untilBoundary(5999, 1000)).toBe(1);
  });
});
