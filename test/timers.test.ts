/** Timers in the runtime, on a manual clock: firing, periodic without pile-up, replace, cancel, turns that fail, passivation. */
import { describe, expect, it } from "vitest";
import { defineActor } from "../src/actor/define.js";
import type { TimerDelay } from "../src/actor/spec.js";
import { ManualClock } from "../src/clock.js";
import { ConflictError, RejectedError } from "../src/errors.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import type { ActorKey } from "../src/store/types.js";
import { codeOf } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

type Plan = { name: string; after?: number; every?: number; tag?: string };
const plan = (p: unknown): Plan => p as Plan;
const delayOf = (p: Plan): TimerDelay => (p.every !== undefined ? { every: p.every } : (p.after ?? 0));

/** Lets a test hold a tick's turn open. */
const gate: { open: Promise<void> | undefined } = { open: undefined };

/** An event-sourced actor that counts its ticks (each tick an event) and drives its timers by message. */
const ticker = defineActor({
  type: "ticker",
  initialState: () => ({ ticks: [] as string[] }),
  evolve: (s, e: { ticked: string }) => ({ ticks: [...s.ticks, e.ticked] }),
  messages: {
    start: {
      validate: plan,
      handle: (_s, p, ctx) => {
        ctx.timers.start(p.name, delayOf(p), { tick: { tag: p.tag ?? p.name } });
        return { reply: ctx.timers.isSet(p.name) };
      },
    },
    cancel: {
      validate: plan,
      handle: (_s, p, ctx) => {
        ctx.timers.cancel(p.name);
        return { reply: ctx.timers.isSet(p.name) };
      },
    },
    isSet: { validate: plan, handle: (_s, p, ctx) => ({ reply: ctx.timers.isSet(p.name) }) },
    /** Starts a timer, then refuses: the start must not stay. */
    startAndReject: {
      validate: plan,
      handle: (_s, p, ctx) => {
        ctx.timers.start(p.name, delayOf(p), { tick: { tag: p.name } });
        throw new RejectedError("no");
      },
    },
    /** Starts a timer and writes an event (which the test's store may refuse). */
    startAndPersist: {
      validate: plan,
      handle: (_s, p, ctx) => {
        ctx.timers.start(p.name, delayOf(p), { tick: { tag: p.name } });
        return { events: [{ ticked: "persisted" }], reply: null };
      },
    },
    tick: {
      validate: (p: unknown) => {
        const tag = (p as { tag?: unknown })?.tag;
        if (typeof tag !== "string") throw new Error("tag must be a string");
        return { tag };
      },
      handle: async (s, p) => {
        if (gate.open !== undefined) await gate.open;
        return { events: [{ ticked: p.tag }], reply: s.ticks.length + 1 };
      },
    },
    ticks: { validate: () => ({}), handle: (s) => ({ reply: s.ticks }) },
  },
  passivateAfter: 1000,
});

/** A store whose appends fail while `failing` is set. */
class FlakyStore extends MemoryEventStore {
  failing = false;
  override append(key: ActorKey, events: readonly unknown[], expectedVersion: number): Promise<number> {
    if (this.failing) return Promise.reject(new ConflictError("refused by the test"));
    return super.append(key, events, expectedVersion);
  }
}

function setup() {
  const clock = new ManualClock();
  const store = new FlakyStore();
  const rt = new Runtime({ nodeId: "n1", store, actors: [ticker], clock, passivationInterval: 100 });
  const t = rt.ref(ticker, "t1");
  /** Moves time on and lets the turns it set off finish. */
  const advance = async (ms: number) => {
    clock.advance(ms);
    await turns();
  };
  return { clock, store, rt, t, advance };
}

describe("timers", () => {
  it("a one-shot timer delivers its message once, as a turn, after its delay", async () => {
    const { rt, t, advance } = setup();
    expect(await t.ask({ start: { name: "once", after: 500 } })).toBe(true);
    await advance(499);
    expect(await t.ask({ ticks: {} })).toEqual([]);
    await advance(1);
    expect(await t.ask({ ticks: {} })).toEqual(["once"]);
    expect(await t.ask({ isSet: { name: "once" } })).toBe(false);
    await advance(10_000);
    expect(await t.ask({ ticks: {} })).toEqual(["once"]);
    await rt.stop();
  });

  it("a periodic timer fires again `every` ms after its previous turn finished: firings never pile up", async () => {
    const { rt, t, advance } = setup();
    await t.ask({ start: { name: "p", every: 100 } });
    await advance(100);
    await advance(100);
    expect(await t.ask({ ticks: {} })).toEqual(["p", "p"]);
    // A slow tick: while its turn is open, time passes and no firing queues behind it.
    let release!: () => void;
    gate.open = new Promise((r) => (release = r));
    await advance(100);
    await advance(1000);
    expect(rt.stats().mailboxDepth).toBe(0);
    gate.open = undefined;
    release();
    await turns();
    expect(await t.ask({ ticks: {} })).toEqual(["p", "p", "p"]);
    await advance(99);
    expect((await t.ask({ ticks: {} })) as string[]).toHaveLength(3);
    await advance(1);
    expect((await t.ask({ ticks: {} })) as string[]).toHaveLength(4);
    await rt.stop();
  });

  it("starting a set name replaces it, and a replaced or cancelled timer's queued message never runs", async () => {
    const { rt, t, advance } = setup();
    await t.ask({ start: { name: "x", after: 100, tag: "old" } });
    await advance(50);
    await t.ask({ start: { name: "x", after: 100, tag: "new" } });
    await advance(60); // the old one's due time passes
    expect(await t.ask({ ticks: {} })).toEqual([]);
    await advance(40);
    expect(await t.ask({ ticks: {} })).toEqual(["new"]);

    // Fired and queued behind the turn that replaces (or cancels) it: dropped when its turn comes.
    await t.ask({ start: { name: "y", after: 100, tag: "queued" } });
    await t.ask({ start: { name: "z", after: 100, tag: "cancelled" } });
    let release!: () => void;
    gate.open = new Promise((r) => (release = r));
    await t.ask({ start: { name: "slow", after: 50 } });
    await advance(50); // "slow" fires and its turn waits at the gate
    const replaced = t.ask({ start: { name: "y", after: 1000, tag: "replacement" } });
    const cancelled = t.ask({ cancel: { name: "z" } });
    await advance(50); // y and z fire and queue behind the replace and the cancel
    expect(rt.stats().mailboxDepth).toBe(4);
    gate.open = undefined;
    release();
    expect([await replaced, await cancelled]).toEqual([true, false]);
    await turns();
    expect(await t.ask({ ticks: {} })).toEqual(["new", "slow"]);
    await advance(1000);
    expect(await t.ask({ ticks: {} })).toEqual(["new", "slow", "replacement"]);
    await rt.stop();
  });

  it("cancel stops a timer for good, and within the turn isSet sees the turn's own changes", async () => {
    const { rt, t, advance } = setup();
    await t.ask({ start: { name: "p", every: 100 } });
    await advance(100);
    expect(await t.ask({ cancel: { name: "p" } })).toBe(false);
    await advance(1000);
    expect(await t.ask({ ticks: {} })).toEqual(["p"]);
    expect(await t.ask({ isSet: { name: "p" } })).toBe(false);
    await rt.stop();
  });

  it("a turn that throws, or whose append fails, leaves no timer change behind", async () => {
    const { rt, t, store, advance } = setup();
    expect(await codeOf(t.ask({ startAndReject: { name: "r", after: 10 } }))).toBe("REJECTED");
    store.failing = true;
    expect(await codeOf(t.ask({ startAndPersist: { name: "f", after: 10 } }))).toBe("CONFLICT");
    store.failing = false;
    expect(await t.ask({ isSet: { name: "r" } })).toBe(false);
    expect(await t.ask({ isSet: { name: "f" } })).toBe(false);
    await advance(1000);
    expect(await t.ask({ ticks: {} })).toEqual([]);
    // The same turn with a store that accepts: the timer starts once the events are stored.
    await t.ask({ startAndPersist: { name: "f", after: 10 } });
    await advance(10);
    expect(await t.ask({ ticks: {} })).toEqual(["persisted", "f"]);
    await rt.stop();
  });

  it("an actor with a timer set is not passivated; once it has none, it is", async () => {
    const { rt, t, advance } = setup();
    await t.ask({ start: { name: "late", after: 5000 } });
    await advance(3000); // idle past passivateAfter (1000), swept every 100
    expect(rt.isActive("ticker", "t1")).toBe(true);
    await advance(2000); // fires, runs, and the actor has no timer left
    expect(rt.isActive("ticker", "t1")).toBe(true);
    await advance(1200);
    expect(rt.isActive("ticker", "t1")).toBe(false);
    // Passivation loses timers: the reloaded actor has the fired tick's event, no timer.
    expect(await t.ask({ ticks: {} })).toEqual(["late"]);
    await rt.stop();
  });

  it("a timer's message is checked by the type's validate when it fires; a bad one is dropped", async () => {
    const { rt, t, advance } = setup();
    await t.ask({ start: { name: "ok", after: 10 } });
    // A start with a message of the wrong shape: the handler is untyped JavaScript here.
    const bad = defineActor({
      type: "badticker",
      initialState: () => ({ ticks: [] as string[] }),
      evolve: (s, e: { ticked: string }) => ({ ticks: [...s.ticks, e.ticked] }),
      messages: {
        start: {
          validate: plan,
          handle: (_s, p, ctx) => {
            ctx.timers.start(p.name, 10, { tick: { tag: 42 } } as never);
            return { reply: true };
          },
        },
        tick: {
          validate: (p: unknown) => ({ tag: String((p as { tag: string }).tag.toUpperCase()) }),
          handle: (_s, p) => ({ events: [{ ticked: p.tag }], reply: null }),
        },
        ticks: { validate: () => ({}), handle: (s) => ({ reply: s.ticks }) },
        isSet: { validate: plan, handle: (_s, p, ctx) => ({ reply: ctx.timers.isSet(p.name) }) },
      },
    });
    rt.register(bad);
    const b = rt.ref(bad, "b");
    await b.ask({ start: { name: "bad" } });
    await advance(10);
    expect(await t.ask({ ticks: {} })).toEqual(["ok"]);
    expect(await b.ask({ ticks: {} })).toEqual([]);
    expect(await b.ask({ isSet: { name: "bad" } })).toBe(false);
    await rt.stop();
  });

  it("start refuses a bad name, delay or message with a TypeError, failing the turn", async () => {
    const { rt, t } = setup();
    for (const p of [{ name: "" }, { name: "x".repeat(201) }, { name: "n", after: -1 }, { name: "n", every: 0 }, { name: "n", after: 2 ** 31 }]) {
      expect(await codeOf(t.ask({ start: p }))).toMatch(/^not a ShoalError: TypeError: a timer/);
    }
    expect(await t.ask({ isSet: { name: "n" } })).toBe(false);
    await rt.stop();
  });

  it("stop cancels every timer", async () => {
    const { rt, t, clock } = setup();
    await t.ask({ start: { name: "p", every: 100 } });
    await rt.stop();
    expect(clock.pending).toBe(0);
  });
});
