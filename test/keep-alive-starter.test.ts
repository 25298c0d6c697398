/**
 * The cluster side of keep-alive actors and singletons, with two nodes' runtimes, migrations and
 * starters in one process over one memory event store and one memory KV: what a shard's new
 * owner starts without a message, after a takeover, a live handoff, a failed handoff, and at its
 * first map.
 */
import { describe, expect, it } from "vitest";
import { ClusterEvents } from "../cluster/events.js";
import { KeepAliveRecords } from "../cluster/keep-alive-records.js";
import { KeepAliveStarter } from "../cluster/keep-alive-starter.js";
import { MemoryKvBackend } from "../cluster/kv-memory.js";
import { Migrations } from "../cluster/migration.js";
import type { ShardMap } from "../cluster/placement.js";
import type { MapView } from "../cluster/router.js";
import type { Transport } from "../cluster/transport.js";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import { defineSingleton } from "../src/actor/singleton.js";
import { ManualClock } from "../src/clock.js";
import { ActorMovedError, UnavailableError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import { keepAliveKey } from "../src/nats-names.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryBackend, MemoryEventStore } from "../src/store/memory.js";
import type { ActorKey, EventStore, LoadedJournal } from "../src/store/types.js";
import { turns } from "./support/turns.js";

const activated: string[] = [];

/** Kept alive, event-sourced: each beat of the timer its onActivate starts is an event naming its node. */
const pulse = defineActor({
  type: "pulse",
  keepAlive: true,
  initialState: () => ({ beats: [] as string[] }),
  evolve: (s, e: { on: string }) => ({ beats: [...s.beats, e.on] }),
  messages: {
    beat: { validate: () => ({}), handle: (_s, _p, ctx) => ({ events: [{ on: ctx.node }], reply: null }) },
    read: { validate: () => ({}), handle: (s) => ({ reply: s.beats }) },
    stop: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.stop();
        return { reply: null };
      },
    },
  },
  onActivate(_s, ctx) {
    activated.push(`${ctx.id}@${ctx.node}`);
    ctx.timers.start("beat", { every: 100 }, { beat: {} });
  },
});

/** A singleton whose onActivate is recorded. */
const lighthouse = defineSingleton(
  defineInMemoryActor({
    type: "lighthouse",
    initialState: () => ({}),
    messages: { read: { validate: () => ({}), handle: (s, _p, ctx) => ({ state: s, reply: ctx.node }) } },
    onActivate(_s, ctx) {
      activated.push(`${ctx.id}@${ctx.node}`);
    },
    serialize: (s) => s,
    deserialize: (d) => d as object,
  }),
);

const SHARDS = 2;
/** Shard 1 holds the ids starting with `s1-`, shard 0 the rest (the singleton's id is `lighthouse`). */
const partition = (_t: string, id: string) => (id.startsWith("s1-") ? 1 : 0);
const mapOf = (version: number, owners: Array<string | null>): ShardMap => ({ version, epoch: 1, shardCount: SHARDS, owners });

interface Node {
  id: string;
  runtime: Runtime;
  migrations: Migrations;
  starter: KeepAliveStarter;
  clock: ManualClock;
  setMap(m: ShardMap): void;
  advance(ms: number): Promise<void>;
  warnings: string[];
}

interface World {
  kv: MemoryKvBackend;
  journal: MemoryBackend;
  nodes: Map<string, Node>;
  alive: Set<string>;
}

function world(): World {
  activated.length = 0;
  return { kv: new MemoryKvBackend(new ManualClock()), journal: new MemoryBackend(), nodes: new Map(), alive: new Set() };
}

/** A transport whose requests go to the named node's migrations; `fail` makes handoffs fail. */
function transportIn(w: World, fail = () => false): Transport {
  return {
    request: async (to, req) => {
      const d = w.nodes.get(to)!.migrations;
      if (req.k === "handoff") {
        if (fail()) throw new UnavailableError("handoff refused (test)");
        return d.onHandoff(req);
      }
      if (req.k === "tail-end") return d.onTailEnd(req);
      return d.onTailAsk(req);
    },
    send: (_n, _r, _t, to) => to.ok({}),
  };
}

async function node(
  w: World,
  id: string,
  opts: { store?: (s: EventStore) => EventStore; transport?: Transport; concurrency?: number; start?: boolean } = {},
): Promise<Node> {
  const clock = new ManualClock();
  const warnings: string[] = [];
  const log = {
    warn: (_o: unknown, m: string) => warnings.push(m),
    error: (_o: unknown, m: string) => warnings.push(m),
    info() {},
    debug() {},
  } as unknown as Logger;
  const base = new MemoryEventStore({ backend: w.journal });
  const store = opts.store?.(base) ?? base;
  let map: ShardMap | undefined;
  let starter: KeepAliveStarter | undefined;
  const runtime = new Runtime({
    nodeId: id,
    store,
    actors: [pulse, lighthouse],
    clock,
    logger: log,
    partitionOf: partition,
    fence: (k) => {
      const owner = map?.owners[partition(k.type, k.id)];
      if (owner !== id) throw new ActorMovedError(`owned by ${owner}`);
    },
    keepAlive: { activated: (k) => starter?.activated(k), stopped: (k) => starter?.stopped(k) },
  });
  const maps: MapView = { current: () => map, waitFor: async (until) => until(map) };
  const events = new ClusterEvents({ publish() {} } as never, "c", id, clock, log);
  const kv = await w.kv.provider(id).bucket("shoal-keepalive-c", { ttl: 0 });
  starter = new KeepAliveStarter({
    runtime,
    records: new KeepAliveRecords(kv, clock, log),
    singletons: [lighthouse.type],
    shardOf: partition,
    owns: (shard) => map?.owners[shard] === id,
    isStale: () => false,
    clock,
    log,
    concurrency: opts.concurrency,
    checkEvery: 1000,
  });
  const migrations = new Migrations({
    nodeId: id,
    runtime,
    store,
    transport: opts.transport ?? transportIn(w),
    maps,
    events,
    clock,
    logger: log,
    isAlive: (n) => w.alive.has(n),
    onGained: (shards) => starter!.gained(shards),
  });
  const n: Node = {
    id,
    runtime,
    migrations,
    starter,
    clock,
    warnings,
    setMap(m) {
      const before = map;
      map = m;
      migrations.onMap(before, m);
    },
    async advance(ms) {
      for (let i = 0; i < ms; i += 50) {
        clock.advance(Math.min(50, ms - i));
        await turns(5);
      }
    },
  };
  w.nodes.set(id, n);
  w.alive.add(id);
  if (opts.start !== false) starter.start();
  return n;
}

async function recorded(w: World): Promise<string[]> {
  const kv = await w.kv.provider("reader").bucket("shoal-keepalive-c", { ttl: 0 });
  return (await kv.keys()).sort();
}

async function settle(...nodes: Node[]): Promise<void> {
  for (let i = 0; i < 3; i++) for (const n of nodes) await n.advance(50);
}

describe("keep-alive starter", () => {
  it("records what a message activates, by shard; the shard's next owner starts it without a message after a crash", async () => {
    const w = world();
    const a = await node(w, "A");
    const b = await node(w, "B");
    a.setMap(mapOf(1, ["A", "A"]));
    b.setMap(mapOf(1, ["A", "A"]));
    await a.runtime.ref(pulse, "s1-x").ask({ read: {} });
    await a.runtime.ref(pulse, "p0").ask({ read: {} });
    await settle(a);
    expect(await recorded(w)).toEqual([keepAliveKey(0, { type: "pulse", id: "p0" }), keepAliveKey(1, { type: "pulse", id: "s1-x" })].sort());
    await a.advance(300);

    // A crashes: B is given both shards with no live member to hand them over.
    w.alive.delete("A");
    await a.runtime.stop();
    b.setMap(mapOf(2, ["B", "B"]));
    await settle(b);
    expect(b.runtime.isActive("pulse", "s1-x")).toBe(true);
    expect(b.runtime.isActive("pulse", "p0")).toBe(true);
    expect(b.runtime.isActive("lighthouse", "lighthouse")).toBe(true);
    await b.advance(300);
    const beats = await b.runtime.ref(pulse, "s1-x").ask({ read: {} });
    const onA = beats.filter((n) => n === "A").length;
    expect(onA).toBeGreaterThanOrEqual(3);
    expect(beats.length - onA).toBeGreaterThanOrEqual(2);
    expect(beats).toEqual([...Array(onA).fill("A"), ...Array(beats.length - onA).fill("B")]);
    expect(activated.filter((x) => x.startsWith("s1-x"))).toEqual(["s1-x@A", "s1-x@B"]);
    await b.runtime.stop();
  });

  it("a live handoff carries them (onActivate does not run again); a failed one leaves them to the new owner once its hold ends", async () => {
    const w = world();
    let refuse = false;
    const transport = transportIn(w, () => refuse);
    const a = await node(w, "A", { transport });
    const b = await node(w, "B", { transport });
    a.setMap(mapOf(1, ["A", "A"]));
    b.setMap(mapOf(1, ["A", "A"]));
    await a.runtime.ref(pulse, "s1-live").ask({ read: {} });
    await a.advance(250);

    // Shard 1 moves live to B.
    b.setMap(mapOf(2, ["A", "B"]));
    a.setMap(mapOf(2, ["A", "B"]));
    await a.migrations.whenIdle();
    await settle(a, b);
    expect(a.runtime.isActive("pulse", "s1-live")).toBe(false);
    expect(b.runtime.isActive("pulse", "s1-live")).toBe(true);
    await b.advance(250);
    expect((await b.runtime.ref(pulse, "s1-live").ask({ read: {} })).at(-1)).toBe("B");
    expect(activated.filter((x) => x.startsWith("s1-live"))).toEqual(["s1-live@A"]);

    // It moves back, and this time the handoff fails: A starts it from the store when its hold times out.
    refuse = true;
    a.setMap(mapOf(3, ["A", "A"]));
    b.setMap(mapOf(3, ["A", "A"]));
    await b.migrations.whenIdle();
    await settle(a, b);
    expect(b.runtime.isActive("pulse", "s1-live")).toBe(false);
    expect(a.runtime.isActive("pulse", "s1-live")).toBe(false); // held, waiting for a tail that never comes
    await a.advance(10_000); // handoffTimeout
    await settle(a);
    expect(a.runtime.isActive("pulse", "s1-live")).toBe(true);
    expect(activated.filter((x) => x.startsWith("s1-live"))).toEqual(["s1-live@A", "s1-live@A"]);
    await a.runtime.stop();
    await b.runtime.stop();
  });

  it("a stopped actor is kept alive no more: its record goes, and no new owner starts it", async () => {
    const w = world();
    const a = await node(w, "A");
    a.setMap(mapOf(1, ["A", "A"]));
    await a.runtime.ref(pulse, "s1-done").ask({ read: {} });
    await settle(a);
    expect(await recorded(w)).toHaveLength(1);
    await a.runtime.ref(pulse, "s1-done").send({ stop: {} });
    await settle(a);
    expect(a.runtime.isActive("pulse", "s1-done")).toBe(false);
    expect(await recorded(w)).toEqual([]);
    const b = await node(w, "B");
    w.alive.delete("A");
    b.setMap(mapOf(2, ["B", "B"]));
    await settle(b);
    expect(b.runtime.isActive("pulse", "s1-done")).toBe(false);
    await a.runtime.stop();
    await b.runtime.stop();
  });

  it("starts singletons at the first map, only where their shard is owned, and nothing before start()", async () => {
    const w = world();
    const a = await node(w, "A", { start: false });
    const b = await node(w, "B");
    a.setMap(mapOf(1, ["A", "B"]));
    b.setMap(mapOf(1, ["A", "B"]));
    await settle(a, b);
    expect(a.runtime.isActive("lighthouse", "lighthouse")).toBe(false); // A has not joined yet
    expect(b.runtime.isActive("lighthouse", "lighthouse")).toBe(false); // not B's shard
    a.starter.start();
    await settle(a);
    expect(a.runtime.isActive("lighthouse", "lighthouse")).toBe(true);
    expect(a.starter.singletons()).toEqual([{ type: "lighthouse", running: true }]);
    expect(b.starter.singletons()).toEqual([{ type: "lighthouse", running: false }]);
    expect(activated).toEqual(["lighthouse@A"]);
    await a.runtime.stop();
    await b.runtime.stop();
  });

  it("tries a load that failed again, with a growing pause, and lists again after a listing failed", async () => {
    const w = world();
    let failures = 4;
    const flaky = (s: EventStore): EventStore =>
      Object.assign(Object.create(s) as EventStore, {
        load: async (k: ActorKey): Promise<LoadedJournal> => {
          if (k.type === "pulse" && failures-- > 0) throw new UnavailableError("store down (test)");
          return s.load(k);
        },
      });
    const a = await node(w, "A");
    a.setMap(mapOf(1, ["A", "A"]));
    await a.runtime.ref(pulse, "s1-r").ask({ read: {} });
    await settle(a);
    w.alive.delete("A");
    await a.runtime.stop();

    const b = await node(w, "B", { store: flaky });
    w.kv.cut("B");
    b.setMap(mapOf(2, ["B", "B"]));
    await settle(b);
    expect(b.warnings).toContain("could not list keep-alive actors; trying again");
    w.kv.heal("B");
    await b.advance(1000); // the listing again, then four failed loads, 100, 200, 400 ms apart
    expect(b.runtime.isActive("pulse", "s1-r")).toBe(false);
    await b.advance(1500); // the fifth, 800 ms after the fourth

    expect(b.runtime.isActive("pulse", "s1-r")).toBe(true);
    expect(b.warnings).toContain("a keep-alive actor has not started; trying again");
    await b.runtime.stop();
  });

  it("loads at most `concurrency` actors at once", async () => {
    const w = world();
    const a = await node(w, "A");
    a.setMap(mapOf(1, ["A", "A"]));
    const ids = Array.from({ length: 6 }, (_, i) => `s1-c${i}`);
    for (const id of ids) await a.runtime.ref(pulse, id).ask({ read: {} });
    await settle(a);
    w.alive.delete("A");
    await a.runtime.stop();

    let loading = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    const gated = (s: EventStore): EventStore =>
      Object.assign(Object.create(s) as EventStore, {
        load: async (k: ActorKey): Promise<LoadedJournal> => {
          if (k.type !== "pulse") return s.load(k);
          loading++;
          most = Math.max(most, loading);
          await new Promise<void>((r) => gates.push(r));
          loading--;
          return s.load(k);
        },
      });
    const b = await node(w, "B", { store: gated, concurrency: 2 });
    b.setMap(mapOf(2, ["B", "B"]));
    for (let i = 0; i < 20 && ids.some((id) => !b.runtime.isActive("pulse", id) || gates.length > 0); i++) {
      await turns(10);
      for (const g of gates.splice(0)) g();
    }
    expect(ids.every((id) => b.runtime.isActive("pulse", id))).toBe(true);
    expect(most).toBe(2);
    await b.runtime.stop();
  });
});
