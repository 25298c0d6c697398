/** onActivate and onPassivate: when they run, what they may do, and that a throwing hook is contained. */
import { describe, expect, it } from "vitest";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import { ManualClock } from "../src/clock.js";
import type { Logger } from "../src/log.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { turns } from "./support/turns.js";

const calls: string[] = [];
const failing = { activate: false, passivate: false };

/** Counts ticks of the periodic timer its onActivate starts; records its hooks in `calls`. */
const metronome = defineActor({
  type: "metronome",
  initialState: () => ({ ticks: 0 }),
  evolve: (s, _e: { ticked: true }) => ({ ticks: s.ticks + 1 }),
  messages: {
    tick: { validate: () => ({}), handle: () => ({ events: [{ ticked: true as const }], reply: null }) },
    read: { validate: () => ({}), handle: (s, _p, ctx) => ({ reply: { ticks: s.ticks, running: ctx.timers.isSet("beat") } }) },
    stop: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.timers.cancel("beat");
        return { reply: null };
      },
    },
  },
  onActivate(state, ctx) {
    calls.push(`activate ${ctx.id} at ${state.ticks}`);
    ctx.timers.start("beat", { every: 100 }, { tick: {} });
    if (failing.activate) throw new Error("activate failed");
  },
  onPassivate(state, ctx) {
    calls.push(`passivate ${ctx.id} at ${state.ticks}`);
    if (failing.passivate) throw new Error("passivate failed");
  },
  passivateAfter: 1000,
});

/** An in-memory actor whose onActivate is asynchronous. */
const slowStart = defineInMemoryActor({
  type: "slow-start",
  initialState: () => ({ ready: false }),
  messages: { ready: { validate: () => ({}), handle: (s) => ({ state: s, reply: s.ready }) } },
  async onActivate(state) {
    await new Promise((r) => setImmediate(r));
    (state as { ready: boolean }).ready = true; // a test's shortcut: hooks must not change state
  },
  serialize: (s) => s,
  deserialize: (d) => d as { ready: boolean },
});

function setup() {
  calls.length = 0;
  failing.activate = false;
  failing.passivate = false;
  const warnings: string[] = [];
  const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg), error() {}, info() {}, debug() {} } as unknown as Logger;
  const clock = new ManualClock();
  const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [metronome, slowStart], clock, logger, passivationInterval: 100 });
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i += 100) {
      clock.advance(Math.min(100, ms - i));
      await turns();
    }
  };
  return { rt, clock, warnings, advance };
}

describe("lifecycle hooks", () => {
  it("onActivate runs once per activation, before its first turn, and may start timers", async () => {
    const { rt, advance } = setup();
    const m = rt.ref(metronome, "m1");
    expect(await m.ask({ read: {} })).toEqual({ ticks: 0, running: true });
    await advance(300);
    expect(await m.ask({ read: {} })).toEqual({ ticks: 3, running: true });
    expect(calls).toEqual(["activate m1 at 0"]);
    await rt.stop();
  });

  it("onPassivate runs when the sweep drops an idle actor and when the runtime stops, not when it is released for a handoff", async () => {
    const { rt, advance } = setup();
    const m = rt.ref(metronome, "m1");
    await m.ask({ read: {} });
    await advance(200);
    await m.ask({ stop: {} });
    await advance(1200);
    expect(rt.isActive("metronome", "m1")).toBe(false);
    expect(calls).toEqual(["activate m1 at 0", "passivate m1 at 2"]);
    // Activated again from the store: onActivate runs again (the timer was lost with the activation).
    expect(await m.ask({ read: {} })).toEqual({ ticks: 2, running: true });
    await rt.ref(metronome, "m2").ask({ read: {} });
    const group = await rt.pause((_t, id) => id === "m2");
    group.release();
    calls.length = 0;
    await rt.stop();
    expect(calls).toEqual(["passivate m1 at 2"]);
  });

  it("a throwing onActivate is logged, its timer starts dropped, and the actor serves; a throwing onPassivate is logged", async () => {
    const { rt, warnings, advance } = setup();
    failing.activate = true;
    const m = rt.ref(metronome, "m1");
    expect(await m.ask({ read: {} })).toEqual({ ticks: 0, running: false });
    await advance(500);
    expect(await m.ask({ read: {} })).toEqual({ ticks: 0, running: false });
    expect(warnings).toEqual(["onActivate failed"]);
    failing.passivate = true;
    await advance(1200);
    expect(rt.isActive("metronome", "m1")).toBe(false);
    expect(warnings).toEqual(["onActivate failed", "onPassivate failed"]);
    await rt.stop();
  });

  it("an asynchronous onActivate is awaited before the first turn", async () => {
    const { rt } = setup();
    expect(await rt.ref(slowStart, "s").ask({ ready: {} })).toBe(true);
    await rt.stop();
  });
});
