import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ClusterEvents } from "../cluster/events.js";
import { Migrations } from "../cluster/migration.js";
import type { ShardMap } from "../cluster/placement.js";
import type { MapView } from "../cluster/router.js";
import type { Transport } from "../cluster/transport.js";
import { sequencer } from "../src/actors/sequencer.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { silentLogger } from "../src/log.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { codeOf } from "./support/outcomes.js";

const SHARDS = 2;
const partition = (_t: string, id: string) => (id.startsWith("s1-") ? 1 : 0);
const map = (version: number, owner: string): ShardMap => ({ version, epoch: 1, shardCount: SHARDS, owners: [owner, owner] });

function destination() {
  const clock = new ManualClock();
  const store = new MemoryEventStore();
  const runtime = new Runtime({ nodeId: "me", store, actors: [sequencer], clock, partitionOf: partition });
  let current: ShardMap | undefined = map(2, "me");
  const maps: MapView = { current: () => current, waitFor: async (until) => until(current) };
  const transport: Transport = { request: async () => ({}), send: (_n, _r, _t, to) => to.ok({}) };
  const events = new ClusterEvents({ publish() {} } as never, "c", "me", clock, silentLogger);
  const m = new Migrations({ nodeId: "me", runtime, store, transport, maps, events, clock, isAlive: () => true });
  m.onMap(map(1, "src"), map(2, "me")); // both shards are now held for "src"
  return { m, runtime, clock, setMap: (x: ShardMap) => (current = x) };
}

const state = (sender: string, last: number) => ({ senders: [[sender, last]], violations: [], violationCount: 0 });

describe("migration destination", () => {
  it("adopts handed-over state only from the expected source, and only actors of that shard", async () => {
    const d = destination();
    const code = codeOf;
    const from = (who: string, actors: Array<{ type: string; id: string; version: number; state: unknown }>) =>
      d.m.onHandoff({ k: "handoff", shard: 1, mapVersion: 2, epoch: 1, from: who, actors });
    const good = { type: "sequencer", id: "s1-a", version: 3, state: state("x", 3) };
    expect(await code(from("intruder", [good]))).toBe(ErrorCode.CONFLICT);
    expect(await code(from("src", [{ ...good, id: "s0-other-shard" }]))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(from("src", [{ ...good, type: "nope" }]))).toBe(ErrorCode.UNKNOWN_ACTOR_TYPE);
    expect(d.runtime.isActive("sequencer", "s1-a")).toBe(false); // none of that changed anything
    const bad = { type: "sequencer", id: "s1-b", version: 1, state: { not: "a sequencer state" } };
    expect(await from("src", [good, bad])).toEqual({ adopted: 1, fromStore: 1 }); // unrestorable state loads from the store
    expect(d.runtime.isActive("sequencer", "s1-a")).toBe(true);
    expect(d.runtime.isActive("sequencer", "s1-b")).toBe(false);
  });

  it("refuses a handoff for a shard it is not receiving", async () => {
    const d = destination();
    await d.m.onTailEnd({ k: "tail-end", shard: 1, mapVersion: 2, from: "src", count: 0 }); // shard 1 is served now
    const err = await d.m.onHandoff({ k: "handoff", shard: 1, mapVersion: 2, epoch: 1, from: "src", actors: [] }).catch((e: unknown) => e);
    expect(ShoalError.is(err, ErrorCode.CONFLICT)).toBe(true);
  });
});

describe("migration logs", () => {
  it("a shard moved logs nothing at info; a failed handoff warns", async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const clock = new ManualClock();
    const store = new MemoryEventStore();
    const runtime = new Runtime({ nodeId: "me", store, actors: [sequencer], clock, partitionOf: partition });
    let refuse = false;
    const transport: Transport = {
      request: async () => {
        if (refuse) throw new Error("destination gone");
        return {};
      },
      send: (_n, _r, _t, to) => to.ok({}),
    };
    const maps: MapView = { current: () => undefined, waitFor: async (until) => until(undefined) };
    const events = new ClusterEvents({ publish() {} } as never, "c", "me", clock, log);
    const m = new Migrations({ nodeId: "me", runtime, store, transport, maps, events, clock, isAlive: () => true, logger: log });
    const loud = () => lines.filter((l) => l.level >= 30).map((l) => l.msg);
    m.onMap(map(1, "me"), map(2, "other")); // two shards handed off
    await m.whenIdle();
    expect(loud()).toEqual([]);
    refuse = true;
    m.onMap(map(3, "me"), map(4, "other"));
    await m.whenIdle();
    expect(loud()).toEqual(["handoff failed", "handoff failed"]);
  });
});

describe("a source whose lease lapsed (back from a silent link)", () => {
  it("lets its shards go without a handoff and sends what waited on as plain asks", async () => {
    const clock = new ManualClock();
    const store = new MemoryEventStore();
    const runtime = new Runtime({ nodeId: "me", store, actors: [sequencer], clock, partitionOf: partition });
    await runtime.ask("sequencer", "s1-a", { sender: "x", seq: 1 }); // an active actor with state
    const sent: Array<{ k: string; tail?: number }> = [];
    const transport: Transport = {
      request: async (_to, req) => {
        sent.push(req as { k: string; tail?: number });
        return {};
      },
      send: (_n, _r, _t, to) => to.ok({}),
    };
    const maps: MapView = { current: () => undefined, waitFor: async (until) => until(undefined) };
    const events = new ClusterEvents({ publish() {} } as never, "c", "me", clock, silentLogger);
    const ended: string[] = [];
    let stale = true;
    const m = new Migrations({
      nodeId: "me",
      runtime,
      store,
      transport,
      maps,
      events,
      clock,
      isAlive: () => true,
      isStale: () => stale,
      onEnded: (_r, o) => void ended.push(o),
    });
    m.onMap(map(1, "me"), map(2, "other"));
    const waited = runtime.ask("sequencer", "s1-a", { sender: "x", seq: 2 }); // buffered by the pause
    await m.whenIdle();
    await waited;
    expect(ended).toEqual(["stale", "stale"]);
    expect(sent.map((r) => r.k)).toEqual(["ask"]); // no handoff, no tail-end: the one waiting message, sent on
    expect(sent[0]!.tail).toBeUndefined();
    expect(runtime.isActive("sequencer", "s1-a")).toBe(false); // the zombie's state is dropped
    // A live source hands off as before.
    stale = false;
    sent.length = 0;
    await runtime.ask("sequencer", "s1-b", { sender: "y", seq: 1 }).catch(() => undefined); // not ours: ACTOR_MOVED or served, either way
    m.onMap(map(3, "me"), map(4, "other"));
    await m.whenIdle();
    expect(sent.map((r) => r.k)).toContain("handoff");
  });

  it("a destination's hold is ended only by the tail-end of the source it holds for", async () => {
    const d = destination();
    const err = await d.m.onTailEnd({ k: "tail-end", shard: 1, mapVersion: 2, from: "someone-else", count: 0 }).catch((e: unknown) => e);
    expect(ShoalError.is(err, ErrorCode.CONFLICT)).toBe(true);
    // Still held for "src": its handoff is accepted, then its tail-end ends the hold.
    expect(await d.m.onHandoff({ k: "handoff", shard: 1, mapVersion: 2, epoch: 1, from: "src", actors: [] })).toEqual({ adopted: 0, fromStore: 0 });
    expect(await d.m.onTailEnd({ k: "tail-end", shard: 1, mapVersion: 2, from: "src", count: 0 })).toEqual({ tail: 0 });
  });
});
