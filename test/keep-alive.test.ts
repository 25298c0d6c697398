/** Keep-alive types, `ctx.stop()` and singletons in one runtime: never passivated, started without a message, stopped from a turn. */
import { describe, expect, it } from "vitest";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import { defineSingleton } from "../src/actor/singleton.js";
import { ManualClock } from "../src/clock.js";
import { ActorMovedError, ErrorCode, ShoalError } from "../src/errors.js";
import { Runtime } from "../src/runtime/runtime.js";
import type { KeepAliveHooks } from "../src/runtime/runtime-options.js";
import { MemoryEventStore } from "../src/store/memory.js";
import type { ActorKey, LoadedJournal } from "../src/store/types.js";
import { turns } from "./support/turns.js";

const log: string[] = [];

/** Event-sourced, kept alive: its onActivate starts a periodic beat; `stop` (a failing variant too) ends it. */
const worker = defineActor({
  type: "worker",
  keepAlive: true,
  initialState: () => ({ beats: 0 }),
  evolve: (s, _e: { beat: true }) => ({ beats: s.beats + 1 }),
  messages: {
    beat: { validate: () => ({}), handle: () => ({ events: [{ beat: true as const }], reply: null }) },
    read: { validate: () => ({}), handle: (s, _p, ctx) => ({ reply: { beats: s.beats, beating: ctx.timers.isSet("beat") } }) },
    stop: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.stop();
        return { events: [{ beat: true as const }], reply: "stopping" };
      },
    },
    stopThenFail: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.stop();
        throw new Error("changed its mind");
      },
    },
  },
  onActivate(state, ctx) {
    log.push(`activate ${ctx.id} at ${state.beats}`);
    ctx.timers.start("beat", { every: 100 }, { beat: {} });
  },
  onPassivate(state, ctx) {
    log.push(`passivate ${ctx.id} at ${state.beats}`);
  },
});

/** Not kept alive: the sweep drops it. */
const plain = defineActor({
  type: "plain",
  initialState: () => ({}),
  evolve: (s) => s,
  messages: { ping: { validate: () => ({}), handle: () => ({ reply: "pong" }) } },
});

/** An in-memory actor that stops itself from onActivate once its state says it is done. */
const finished = defineInMemoryActor({
  type: "finished",
  keepAlive: true,
  initialState: (id) => ({ done: id.startsWith("done") }),
  messages: { read: { validate: () => ({}), handle: (s) => ({ state: s, reply: s }) } },
  onActivate(state, ctx) {
    if (state.done) ctx.stop();
  },
  serialize: (s) => s,
  deserialize: (d) => d as { done: boolean },
});

/** A singleton: counts its ticks; its activations go to `log`. */
const ticker = defineSingleton(
  defineInMemoryActor({
    type: "ticker",
    initialState: () => ({ ticks: 0 }),
    messages: {
      tick: { validate: () => ({}), handle: (s) => ({ state: { ...s, ticks: s.ticks + 1 }, reply: null }) },
      read: { validate: () => ({}), handle: (s) => ({ state: s, reply: s }) },
      quit: {
        validate: () => ({}),
        handle: (s, _p, ctx) => {
          ctx.stop();
          return { state: s, reply: null };
        },
      },
    },
    onActivate(_state, ctx) {
      log.push(`activate ${ctx.id}`);
      ctx.timers.start("tick", { every: 100 }, { tick: {} });
    },
    serialize: (s) => s,
    deserialize: (d) => d as { ticks: number },
  }),
);

function setup(opts: { fence?: (key: ActorKey) => void; store?: MemoryEventStore; partitionOf?: (t: string, id: string) => number } = {}) {
  log.length = 0;
  const clock = new ManualClock();
  const hooks: string[] = [];
  const keepAlive: KeepAliveHooks = {
    activated: (k) => hooks.push(`+${k.type}/${k.id}`),
    stopped: (k) => hooks.push(`-${k.type}/${k.id}`),
  };
  const rt = new Runtime({
    nodeId: "n1",
    store: opts.store ?? new MemoryEventStore(),
    actors: [worker, plain, finished],
    clock,
    passivateAfter: 1000,
    passivationInterval: 100,
    keepAlive,
    fence: opts.fence,
    partitionOf: opts.partitionOf,
  });
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i += 50) {
      clock.advance(Math.min(50, ms - i));
      await turns();
    }
  };
  return { rt, clock, hooks, advance };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (err: unknown) => (ShoalError.is(err) ? err.code : String(err)),
  );

describe("keep-alive actor types", () => {
  it("are checked when defined", () => {
    const base = { type: "k", initialState: () => 0, evolve: (s: number) => s, messages: { m: { validate: () => ({}), handle: () => ({ reply: 1 }) } } };
    expect(() => defineActor({ ...base, keepAlive: "yes" as unknown as boolean })).toThrow(/keepAlive of actor type k must be a boolean/);
    expect(() => defineActor({ ...base, keepAlive: true, passivateAfter: 10 })).toThrow(/kept alive: it must not set passivateAfter/);
    expect(defineActor({ ...base, keepAlive: true }).keepAlive).toBe(true);
  });

  it("are never passivated for being idle, where other types are", async () => {
    const { rt, advance } = setup();
    await rt.ref(plain, "p").ask({ ping: {} });
    await rt.ref(finished, "f").ask({ read: {} }); // no timer: only keepAlive keeps it
    await advance(3000);
    expect(rt.isActive("plain", "p")).toBe(false);
    expect(rt.isActive("finished", "f")).toBe(true);
    await rt.stop();
  });

  it("report a message's activation (not a second message's), and a stop", async () => {
    const { rt, hooks } = setup();
    await rt.ref(worker, "w").ask({ read: {} });
    await rt.ref(worker, "w").ask({ read: {} });
    await rt.ref(plain, "p").ask({ ping: {} });
    expect(hooks).toEqual(["+worker/w"]);
    expect(await rt.ref(worker, "w").ask({ stop: {} })).toBe("stopping");
    expect(hooks).toEqual(["+worker/w", "-worker/w"]);
    await rt.stop();
  });
});

describe("ctx.stop()", () => {
  it("ends the activation once its turn has succeeded and what waited behind it has run: timers cancelled, onPassivate run", async () => {
    const { rt, advance } = setup();
    const w = rt.ref(worker, "w");
    await w.ask({ read: {} });
    await advance(250); // two beats
    // The stop and a read queued behind it: the read still runs here, then the activation ends.
    const [stopped, after] = await Promise.all([w.ask({ stop: {} }), w.ask({ read: {} })]);
    expect(stopped).toBe("stopping");
    expect(after).toEqual({ beats: 3, beating: true });
    expect(rt.isActive("worker", "w")).toBe(false);
    expect(log).toEqual(["activate w at 0", "passivate w at 3"]);
    await advance(500);
    expect(rt.isActive("worker", "w")).toBe(false); // its beat timer went with it: nothing woke it
    // The next message starts it afresh.
    expect(await w.ask({ read: {} })).toEqual({ beats: 3, beating: true });
    expect(log).toEqual(["activate w at 0", "passivate w at 3", "activate w at 3"]);
    await rt.stop();
  });

  it("does nothing when the turn fails", async () => {
    const { rt } = setup();
    const w = rt.ref(worker, "w");
    await w.ask({ read: {} });
    expect(await code(w.ask({ stopThenFail: {} }))).toBe("Error: changed its mind");
    expect(rt.isActive("worker", "w")).toBe(true);
    expect(log).toEqual(["activate w at 0"]);
    await rt.stop();
  });

  it("from onActivate, ends the activation right after it (a finished actor need not stay)", async () => {
    const { rt, hooks } = setup();
    expect(await rt.ref(finished, "done-1").ask({ read: {} })).toEqual({ done: true });
    expect(rt.isActive("finished", "done-1")).toBe(false);
    expect(hooks).toEqual(["+finished/done-1", "-finished/done-1"]);
    expect(await rt.ref(finished, "open-1").ask({ read: {} })).toEqual({ done: false });
    expect(rt.isActive("finished", "open-1")).toBe(true);
    await rt.stop();
  });

  it("is refused once its turn has ended (a leftover promise cannot stop a later turn's activation)", async () => {
    let late: unknown;
    const lingering = defineInMemoryActor({
      type: "lingering",
      initialState: () => ({}),
      messages: {
        go: {
          validate: () => ({}),
          handle: (s, _p, ctx) => {
            setImmediate(() => {
              try {
                ctx.stop();
              } catch (err) {
                late = err;
              }
            });
            return { state: s, reply: null };
          },
        },
      },
      serialize: (s) => s,
      deserialize: (d) => d as object,
    });
    const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [lingering] });
    await rt.ref(lingering, "l").ask({ go: {} });
    await turns();
    expect(late).toBeInstanceOf(TypeError);
    expect(rt.isActive("lingering", "l")).toBe(true);
    await rt.stop();
  });

  it("is refused in a singleton, whose turn then fails", async () => {
    const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [ticker] });
    await expect(rt.ref(ticker).ask({ quit: {} })).rejects.toThrow(/ticker is a singleton: it runs for as long as its cluster/);
    expect(rt.isActive("ticker", "ticker")).toBe(true);
    await rt.stop();
  });
});

describe("Runtime.activate", () => {
  it("loads an actor and runs onActivate without a message; again is a no-op", async () => {
    const { rt, advance, hooks } = setup();
    await rt.activate("worker", "w");
    expect(rt.isActive("worker", "w")).toBe(true);
    expect(log).toEqual(["activate w at 0"]);
    await advance(350);
    expect(await rt.ref(worker, "w").ask({ read: {} })).toEqual({ beats: 3, beating: true });
    await rt.activate("worker", "w");
    expect(log).toEqual(["activate w at 0"]);
    expect(hooks).toEqual([]); // started from its record: nothing to record again
    await rt.stop();
  });

  it("is refused by the fence, for a type not hosted and for a bad id; starts nothing in a held shard", async () => {
    const fence = (k: ActorKey) => {
      if (k.id === "elsewhere") throw new ActorMovedError("not here");
    };
    const { rt } = setup({ fence, partitionOf: (_t, id) => (id.startsWith("s1") ? 1 : 0) });
    expect(await code(rt.activate("worker", "elsewhere"))).toBe(ErrorCode.ACTOR_MOVED);
    expect(await code(rt.activate("nope", "x"))).toBe(ErrorCode.UNKNOWN_ACTOR_TYPE);
    expect(await code(rt.activate("worker", ""))).toBe(ErrorCode.BAD_REQUEST);
    const hold = rt.holdPartition(1);
    await rt.activate("worker", "s1-w");
    expect(rt.isActive("worker", "s1-w")).toBe(false);
    expect(rt.isActive("worker", "elsewhere")).toBe(false);
    hold.resume();
    await rt.stop();
  });

  it("an actor paused between its load and onActivate is not captured for a handoff (it would never activate there)", async () => {
    const store = new MemoryEventStore();
    let release!: () => void;
    const slow = Object.assign(Object.create(store) as MemoryEventStore, {
      load: async (k: ActorKey): Promise<LoadedJournal> => {
        await new Promise<void>((r) => (release = r));
        return store.load(k);
      },
    });
    const { rt } = setup({ store: slow, partitionOf: () => 0 });
    const started = rt.activate("worker", "w");
    const group = rt.holdPartition(0);
    release();
    await started;
    await group.ready;
    expect(rt.isActive("worker", "w")).toBe(true);
    expect(group.capture()).toEqual([]);
    expect(log).toEqual([]);
    group.release();
    await rt.stop();
  });
});

describe("singletons", () => {
  it("are kept-alive types with one id, their name: a ref needs none, another id is BAD_REQUEST", async () => {
    expect(ticker).toMatchObject({ type: "ticker", keepAlive: true, singleton: true, kind: "in-memory" });
    expect(Object.isFrozen(ticker)).toBe(true);
    expect(() => defineSingleton({ type: "x" } as never)).toThrow(/takes an actor definition/);
    expect(() => defineSingleton(defineActor({ ...plain, passivateAfter: 5 }))).toThrow(/must not set passivateAfter/);
    const clock = new ManualClock();
    const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [ticker], clock });
    expect(rt.ref(ticker).id).toBe("ticker");
    expect(rt.ref(ticker, "ticker").id).toBe("ticker");
    expect(() => rt.ref(ticker, "other")).toThrow(/ticker is a singleton/);
    expect(await code(rt.ask("ticker", "other", { read: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.activate("ticker", "other"))).toBe(ErrorCode.BAD_REQUEST);
    await rt.stop();
  });

  it("start, without a message, when a runtime on its own registers them", async () => {
    log.length = 0;
    const clock = new ManualClock();
    const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [ticker], clock });
    await turns();
    expect(rt.isActive("ticker", "ticker")).toBe(true);
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      await turns();
    }
    expect(await rt.ref(ticker).ask({ read: {} })).toEqual({ ticks: 5 });
    expect(log).toEqual(["activate ticker"]);
    await rt.stop();
  });

  it("wait for the cluster when the runtime has a fence: its shard's owner starts them", async () => {
    const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [ticker], fence: () => undefined });
    await turns();
    expect(rt.isActive("ticker", "ticker")).toBe(false);
    await rt.stop();
  });
});
