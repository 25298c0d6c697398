import { describe, expect, it } from "vitest";
import type { ElectionEvent, LeaderElection } from "../cluster/election.js";
import { ClusterEvents, type ClusterEvent } from "../cluster/events.js";
import { MemoryKvBackend } from "../cluster/kv-memory.js";
import { type ManagerOptions, ShardManager } from "../cluster/manager.js";
import { ShardMapStore } from "../cluster/map-store.js";
import type { Membership, MembershipChange } from "../cluster/membership.js";
import type { Member } from "../cluster/placement.js";
import { ManualClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import { turns } from "./support/turns.js";

/** The parts of LeaderElection the manager uses, driven by the test. */
class FakeElection {
  leader = false;
  epoch: number | undefined;
  stepDowns: string[] = [];
  private listeners: Array<(e: ElectionEvent) => void> = [];
  isLeader() {
    return this.leader;
  }
  onChange(l: (e: ElectionEvent) => void) {
    this.listeners.push(l);
    return () => undefined;
  }
  win(epoch: number) {
    this.leader = true;
    this.epoch = epoch;
    for (const l of this.listeners) l({ kind: "elected", epoch });
  }
  stepDown(reason: string) {
    this.stepDowns.push(reason);
    this.leader = false;
    for (const l of this.listeners) l({ kind: "stepped-down", epoch: this.epoch!, reason });
  }
}

class FakeMembership {
  list: Member[] = [];
  private listeners: Array<(c: MembershipChange) => void> = [];
  members() {
    return this.list;
  }
  records() {
    return this.list.map((m) => ({ ...m, startedAt: 0 }));
  }
  onChange(l: (c: MembershipChange) => void) {
    this.listeners.push(l);
    return () => undefined;
  }
  leave(id: string) {
    this.list = this.list.filter((m) => m.id !== id);
    for (const l of this.listeners) l({ joined: [], left: [id], updated: [] });
  }
  join(id: string) {
    this.list = [...this.list, { id, weight: 1, state: "active" }];
    for (const l of this.listeners) l({ joined: [{ id, weight: 1, state: "active", startedAt: 0 }], left: [], updated: [] });
  }
}

/** Publishes into an array instead of NATS. */
function capturingEvents(clock: ManualClock, sink: ClusterEvent[]): ClusterEvents {
  const nc = { publish: (_s: string, data: Uint8Array) => sink.push(JSON.parse(new TextDecoder().decode(data))) };
  return new ClusterEvents(nc as never, "c", "leader-node", clock, silentLogger);
}

async function settle(clock: ManualClock, ms = 0) {
  await turns(20);
  if (ms > 0) clock.advance(ms);
  await turns(20);
}

async function setup(opts: Partial<Pick<ManagerOptions, "maxHandoffsPerMap" | "stepTimeout" | "loadBalance" | "shardLoad">> = {}) {
  const clock = new ManualClock();
  const backend = new MemoryKvBackend(clock);
  const maps = new ShardMapStore(await backend.provider("n").bucket("map", { ttl: 0 }));
  const election = new FakeElection();
  const membership = new FakeMembership();
  const events: ClusterEvent[] = [];
  const manager = new ShardManager({
    election: election as unknown as LeaderElection,
    membership: membership as unknown as Membership,
    maps,
    events: capturingEvents(clock, events),
    clock,
    shardCount: 64,
    debounce: 250,
    ...opts,
  });
  manager.start();
  return { clock, backend, maps, election, membership, events, manager };
}

const published = (events: ClusterEvent[]) => events.filter((e) => e.type === "map.published");

describe("shard manager (in-memory KV, fake clock)", () => {
  it("writes a map stamped with its epoch one debounce after it is elected", async () => {
    const t = await setup();
    t.membership.join("a");
    t.election.win(7);
    await settle(t.clock, 100);
    expect(await t.maps.read()).toBeUndefined(); // waits for membership news that led to the election
    await settle(t.clock, 200);
    const stored = await t.maps.read();
    expect(stored?.map.epoch).toBe(7);
    expect(stored?.map.owners.every((o) => o === "a")).toBe(true);
  });

  it("turns a burst of joins into one plan", async () => {
    const t = await setup({ maxHandoffsPerMap: 64 }); // one map for the whole plan: this is about the debounce
    t.membership.join("a");
    t.election.win(1);
    await settle(t.clock, 300);
    const before = published(t.events).length;
    for (const [i, id] of ["b", "c", "d", "e"].entries()) {
      t.membership.join(id);
      await settle(t.clock, i < 3 ? 100 : 0); // each join inside the 250 ms quiet time of the last
    }
    await settle(t.clock, 300);
    const after = published(t.events).slice(before);
    expect(after).toHaveLength(1);
    const map = (await t.maps.read())!.map;
    expect(new Set(map.owners)).toEqual(new Set(["a", "b", "c", "d", "e"]));
  });

  it("plans a departure at once: its shards have no owner until the next map", async () => {
    const t = await setup({ maxHandoffsPerMap: 64 });
    t.membership.join("a");
    t.membership.join("b");
    t.election.win(1);
    await settle(t.clock, 300);
    const before = published(t.events).length;
    t.membership.leave("b");
    await settle(t.clock, 1); // far inside the 250 ms debounce
    expect(published(t.events).length).toBe(before + 1);
    expect(published(t.events).at(-1)).toMatchObject({ moves: 32, handoffs: 0 }); // b is gone: nothing to hand over
    expect((await t.maps.read())!.map.owners.every((o) => o === "a")).toBe(true);
  });

  it("plans a steady stream of changes no later than maxDelay", async () => {
    const t = await setup();
    t.membership.join("a");
    t.election.win(1);
    await settle(t.clock, 300);
    const before = published(t.events).length;
    for (let i = 0; i < 12; i++) {
      t.membership.join(`m${i}`);
      await settle(t.clock, 200); // never 250 ms of quiet
    }
    expect(published(t.events).length).toBeGreaterThan(before); // maxDelay (1000 ms) forced plans
  });

  it("does nothing as a follower", async () => {
    const t = await setup();
    t.membership.join("a");
    await settle(t.clock, 1000);
    expect(await t.maps.read()).toBeUndefined();
  });

  it("steps down when a newer epoch wrote the map, and never overwrites it", async () => {
    const t = await setup();
    t.membership.join("a");
    t.election.win(3);
    await settle(t.clock, 300);
    // Another leader (epoch 5) writes a map behind our back.
    const theirs = await t.maps.read();
    await t.maps.write({ ...theirs!.map, version: theirs!.map.version + 1, epoch: 5 }, theirs!.revision);
    t.membership.join("b");
    await settle(t.clock, 300);
    expect(t.election.stepDowns).toHaveLength(1);
    expect((await t.maps.read())!.map.epoch).toBe(5);
  });

  it("loses the compare-and-set to a racing writer and steps down when it was a newer leader", async () => {
    const t = await setup();
    t.membership.join("a");
    t.election.win(3);
    await settle(t.clock, 300);
    // Make the next read stale: the rival writes between our read and our write.
    const read = t.maps.read.bind(t.maps);
    let raced = false;
    t.maps.read = async () => {
      const seen = await read();
      if (!raced && seen !== undefined) {
        raced = true;
        await t.maps.write({ ...seen.map, version: seen.map.version + 1, epoch: 9 }, seen.revision);
      }
      return seen;
    };
    t.membership.join("b");
    await settle(t.clock, 300);
    expect(t.election.stepDowns[0]).toMatch(/epoch 9/);
    expect((await read())!.map.epoch).toBe(9);
  });

  it("moves live shards in steps: the next map once every handoff of the last has ended", async () => {
    const t = await setup({ maxHandoffsPerMap: 5 });
    t.membership.join("a");
    t.election.win(1);
    await settle(t.clock, 300);
    const before = published(t.events).length;
    t.membership.join("b");
    await settle(t.clock, 300);
    const first = published(t.events).slice(before);
    expect(first.map((e) => e.type === "map.published" && e.moves)).toEqual([5]);
    // Each of them a handoff between live members, so each will report its end (what the dashboard counts a map's moves against).
    expect(first[0]).toMatchObject({ handoffs: 5 });
    const v = (await t.maps.read())!.map.version;
    for (let i = 0; i < 4; i++) t.manager.migrationEnded(v);
    t.manager.migrationEnded(v - 1); // another map's: not counted
    await settle(t.clock, 1);
    expect(published(t.events).length).toBe(before + 1);
    t.manager.migrationEnded(v);
    await settle(t.clock, 1);
    expect((await t.maps.read())!.map.version).toBe(v + 1);
    // And so on until b has its share (32 of 64): 7 maps in all.
    for (let step = 0; step < 10; step++) {
      const now = (await t.maps.read())!.map.version;
      for (let i = 0; i < 5; i++) t.manager.migrationEnded(now);
      await settle(t.clock, 1);
    }
    const all = published(t.events).slice(before);
    expect(all.length).toBe(7);
    expect(all.reduce((n, e) => n + (e.type === "map.published" ? e.moves : 0), 0)).toBe(32);
    expect((await t.maps.read())!.map.owners.filter((o) => o === "b").length).toBe(32);
  });

  it("refuses step settings that would never move a shard or never time out", async () => {
    for (const bad of [{ maxHandoffsPerMap: 0 }, { stepTimeout: 0 }, { stepTimeout: -5 }, { stepTimeout: Number.NaN }, { stepTimeout: Infinity }]) {
      await expect(setup(bad)).rejects.toThrow(RangeError);
    }
  });

  it("publishes the next step after stepTimeout when the handoffs' ends are not heard", async () => {
    const t = await setup({ maxHandoffsPerMap: 16, stepTimeout: 2000 });
    t.membership.join("a");
    t.election.win(1);
    await settle(t.clock, 300);
    t.membership.join("b");
    await settle(t.clock, 300);
    const v = (await t.maps.read())!.map.version;
    await settle(t.clock, 1900);
    expect((await t.maps.read())!.map.version).toBe(v);
    await settle(t.clock, 200);
    expect((await t.maps.read())!.map.version).toBe(v + 1);
    expect((await t.maps.read())!.map.owners.filter((o) => o === "b").length).toBe(32);
  });
});

describe("load-aware rebalancing on the leader", () => {
  it("swaps hot shards off an overloaded member every interval, at most maxMoves, each shard once per cool-down", async () => {
    let load = new Map<number, number>();
    const t = await setup({ maxHandoffsPerMap: 64, loadBalance: { factor: 1.5, maxMoves: 4, interval: 1000, cooldown: 60_000 }, shardLoad: () => load });
    for (const id of ["a", "b", "c"]) t.membership.join(id);
    t.election.win(1);
    await settle(t.clock, 300);
    const map = (await t.maps.read())!.map;
    const hotOnA = map.owners.flatMap((o, s) => (o === "a" ? [s] : [])).slice(0, 6);
    load = new Map(map.owners.map((_, s) => [s, hotOnA.includes(s) ? 100 : 1]));
    const before = published(t.events).length;
    await settle(t.clock, 1000);
    const first = published(t.events).slice(before);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ type: "map.published", moves: 4, reason: "load", handoffs: 4 });
    const after = (await t.maps.read())!.map;
    expect(after.version).toBe(map.version + 1);
    const countOf = (m: typeof map, id: string) => m.owners.filter((o) => o === id).length;
    for (const id of ["a", "b", "c"]) expect(countOf(after, id)).toBe(countOf(map, id));
    // The step's handoffs end; the next look moves more, never the shards just moved.
    for (let i = 0; i < 4; i++) t.manager.migrationEnded(after.version);
    await settle(t.clock, 1); // the step's end runs a (count) plan, which finds nothing to do
    await settle(t.clock, 1000);
    const next = (await t.maps.read())!.map;
    expect(next.version).toBe(after.version + 1);
    const movedFirst = after.owners.flatMap((o, s) => (o !== map.owners[s] ? [s] : []));
    for (const s of movedFirst) expect(next.owners[s]).toBe(after.owners[s]);
  });

  it("takes a relief the move budget cut short on to the settle line at the next look", async () => {
    let load = new Map<number, number>();
    const t = await setup({ maxHandoffsPerMap: 64, loadBalance: { factor: 1.5, maxMoves: 20, interval: 1000 }, shardLoad: () => load });
    for (const id of ["a", "b", "c"]) t.membership.join(id);
    t.election.win(1);
    await settle(t.clock, 300);
    const map = (await t.maps.read())!.map;
    load = new Map(map.owners.map((o, s) => [s, o === "a" ? 10 : 1]));
    const share = [...load.values()].reduce((x, y) => x + y, 0) / 3;
    const loadOf = (m: typeof map) => m.owners.reduce((t, o, s) => t + (o === "a" ? load.get(s)! : 0), 0);
    await settle(t.clock, 1000);
    const first = (await t.maps.read())!.map;
    expect(first.version).toBe(map.version + 1);
    // Twenty moves bring a under the factor but not within the settle line (1.25 × its share).
    expect(loadOf(first)).toBeLessThan(1.5 * share);
    expect(loadOf(first)).toBeGreaterThan(1.25 * share);
    for (let i = 0; i < 20; i++) t.manager.migrationEnded(first.version);
    await settle(t.clock, 1);
    await settle(t.clock, 1000);
    const next = (await t.maps.read())!.map;
    expect(next.version).toBe(first.version + 1);
    expect(loadOf(next)).toBeLessThanOrEqual(1.25 * share);
    const forLoad = published(t.events).filter((e) => e.type === "map.published" && e.reason === "load");
    expect(forLoad.map((e) => (e.type === "map.published" ? e.moves : 0))).toEqual([20, 4]);
  });

  it("does nothing while off, as a follower, or while the count-balanced plan has moves to make", async () => {
    const skewed = (m: { owners: readonly (string | null)[] }) => new Map(m.owners.map((o, s) => [s, o === "a" ? 100 : 0]));
    let load = new Map<number, number>();
    const off = await setup({ maxHandoffsPerMap: 64, shardLoad: () => load });
    off.membership.join("a");
    off.membership.join("b");
    off.election.win(1);
    await settle(off.clock, 300);
    load = skewed((await off.maps.read())!.map);
    const v = (await off.maps.read())!.map.version;
    await settle(off.clock, 30_000);
    expect((await off.maps.read())!.map.version).toBe(v);

    const t = await setup({ maxHandoffsPerMap: 2, loadBalance: { factor: 1.2, interval: 1000 }, shardLoad: () => load });
    t.membership.join("a");
    t.election.win(1);
    await settle(t.clock, 300);
    t.membership.join("b"); // a plan in steps of 2 handoffs: its steps wait for their ends
    await settle(t.clock, 300);
    load = skewed((await t.maps.read())!.map);
    const before = published(t.events).length;
    await settle(t.clock, 1000);
    expect(
      published(t.events)
        .slice(before)
        .filter((e) => e.type === "map.published" && e.reason === "load"),
    ).toEqual([]);
  });
});
