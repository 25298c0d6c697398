/** Durable reminders in a standalone runtime, on a manual clock: one-shots, periods, cron, cancel, turns that fail, once per firing. */
import { describe, expect, it } from "vitest";
import { defineActor } from "../src/actor/define.js";
import type { ReminderWhen } from "../src/reminders/schedule.js";
import { MemoryReminderStorage, type StoredReminder } from "../src/reminders/storage.js";
import { ManualClock } from "../src/clock.js";
import { RejectedError, UnavailableError } from "../src/errors.js";
import { account } from "../src/actors/account.js";
import type { Caller } from "../src/ref.js";
import { WAKE_EVERY, WAKE_NAME } from "../src/reminders/service.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryBackend, MemoryEventStore } from "../src/store/memory.js";
import { codeOf } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** Records each firing as an event; sets and cancels reminders by message. */
const alarm = defineActor({
  type: "alarm",
  initialState: () => ({ rang: [] as string[] }),
  evolve: (s, e: { rang: string }) => ({ rang: [...s.rang, e.rang] }),
  messages: {
    set: {
      validate: (p: unknown) => p as { name: string; when: ReminderWhen; fail?: boolean },
      handle: (_s, p, ctx) => {
        ctx.reminders.set(p.name, p.when, { ring: { tag: p.name } });
        if (p.fail === true) throw new RejectedError("changed my mind");
        return { reply: ctx.reminders.list().map((r) => r.name) };
      },
    },
    cancel: {
      validate: (p: unknown) => p as string,
      handle: (_s, name, ctx) => {
        ctx.reminders.cancel(name);
        return { reply: ctx.reminders.list().length };
      },
    },
    list: { validate: () => ({}), handle: (_s, _p, ctx) => ({ reply: ctx.reminders.list() }) },
    ring: {
      validate: (p: unknown) => {
        if (typeof (p as { tag?: unknown })?.tag !== "string") throw new Error("tag must be a string");
        return p as { tag: string };
      },
      handle: (_s, p, ctx) => ({ events: [{ rang: `${p.tag}@${ctx.now - T0}` }], reply: null }),
    },
    rang: { validate: () => ({}), handle: (s) => ({ reply: s.rang }) },
  },
  passivateAfter: 1000,
});

function runtime(storage = new MemoryReminderStorage(), backend = new MemoryBackend(), clock = new ManualClock(T0)) {
  const rt = new Runtime({ nodeId: "n", store: new MemoryEventStore({ backend }), actors: [alarm], clock, reminderStorage: storage, passivationInterval: 500 });
  const advance = async (ms: number, step = 100) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await turns(5);
    }
  };
  return { rt, clock, advance, storage, backend };
}

describe("reminders", () => {
  it("a one-shot fires once at its time, then is gone; list shows it until then", async () => {
    const { rt, advance } = runtime();
    const a = rt.ref(alarm, "a");
    expect(await a.ask({ set: { name: "wake", when: { at: T0 + 1000 } } })).toEqual(["wake"]);
    expect(await a.ask({ list: {} })).toEqual([{ name: "wake", due: T0 + 1000, msg: { ring: { tag: "wake" } } }]);
    await advance(900);
    expect(await a.ask({ rang: {} })).toEqual([]);
    await advance(200);
    expect(await a.ask({ rang: {} })).toEqual(["wake@1000"]);
    await advance(5000);
    expect(await a.ask({ rang: {} })).toEqual(["wake@1000"]);
    expect(await a.ask({ list: {} })).toEqual([]);
    await rt.stop();
  });

  it("a periodic one fires every period until cancelled; a cron one on its schedule", async () => {
    const { rt, advance } = runtime();
    const a = rt.ref(alarm, "a");
    await a.ask({ set: { name: "beat", when: { every: 1000 } } });
    await a.ask({ set: { name: "tick", when: { cron: "*/5 * * * * *" } } });
    await advance(10_050);
    expect(await a.ask({ rang: {} })).toEqual(
      [
        "beat@1000",
        "beat@2000",
        "beat@3000",
        "beat@4000",
        "tick@5000",
        "beat@5000",
        "beat@6000",
        "beat@7000",
        "beat@8000",
        "beat@9000",
        "tick@10000",
        "beat@10000",
      ].sort(byTime),
    );
    expect(await a.ask({ cancel: "beat" })).toBe(1);
    await advance(5000);
    expect((await a.ask({ rang: {} })).filter((r) => r.startsWith("beat"))).toHaveLength(10);
    await rt.stop();
  });

  it("a turn that throws sets nothing; bad schedules are TypeErrors in the turn", async () => {
    const { rt, advance, storage } = runtime();
    const a = rt.ref(alarm, "a");
    expect(await codeOf(a.ask({ set: { name: "no", when: { at: T0 + 10 }, fail: true } }))).toBe("REJECTED");
    for (const when of [{ every: 10 }, { cron: "not cron" }, { at: -1 }, {}, { at: T0, cron: "* * * * *" }] as ReminderWhen[]) {
      expect(await codeOf(a.ask({ set: { name: "x", when } }))).toMatch(/TypeError/);
    }
    expect(await codeOf(a.ask({ set: { name: "x".repeat(101), when: { at: T0 } } }))).toMatch(/TypeError/);
    await advance(1000);
    expect(await a.ask({ rang: {} })).toEqual([]);
    expect(await storage.loadShard(0)).toEqual([]);
    await rt.stop();
  });

  it("activates a passivated actor to fire, and survives the runtime: another one on the same storage fires what came due", async () => {
    const storage = new MemoryReminderStorage();
    const backend = new MemoryBackend();
    const first = runtime(storage, backend);
    await first.rt.ref(alarm, "a").ask({ set: { name: "later", when: { at: T0 + 60_000 } } });
    await first.advance(5000, 500);
    expect(first.rt.isActive("alarm", "a")).toBe(false); // passivated
    await first.rt.stop();
    const second = runtime(storage, backend, new ManualClock(T0 + 70_000));
    await second.advance(500);
    // Due while no runtime ran: fired as soon as the new one has loaded its shard's reminders.
    const rang = await second.rt.ref(alarm, "a").ask({ rang: {} });
    expect(rang).toHaveLength(1);
    expect(rang[0]).toMatch(/^later@70[0-4]00$/);
    await second.rt.stop();
  });

  it("applies a firing once when it is fired again (its advance was lost with its node)", async () => {
    /** Storage whose advances are lost: as if the node died right after the firing's turn. */
    class Forgetful extends MemoryReminderStorage {
      override async advance(_r: StoredReminder, _next: StoredReminder | undefined): Promise<void> {}
    }
    const storage = new Forgetful();
    const backend = new MemoryBackend();
    const first = runtime(storage, backend);
    await first.rt.ref(alarm, "a").ask({ set: { name: "once", when: { at: T0 + 1000 } } });
    await first.advance(1500);
    expect(await first.rt.ref(alarm, "a").ask({ rang: {} })).toEqual(["once@1000"]);
    await first.rt.stop();
    // The stored reminder still says "due, firing 0": the next owner fires it again, the journal says it was applied.
    const second = runtime(storage, backend, new ManualClock(T0 + 2000));
    await second.advance(500);
    expect(await second.rt.ref(alarm, "a").ask({ rang: {} })).toEqual(["once@1000"]);
    expect((await new MemoryEventStore({ backend }).read({ type: "alarm", id: "a" })).length).toBe(1);
    await second.rt.stop();
  });
});

function byTime(a: string, b: string): number {
  return Number(a.split("@")[1]) - Number(b.split("@")[1]);
}

describe("outbox wake-ups", () => {
  it("a sender whose node died with messages unacknowledged is woken by its shard's next owner, which sends them", async () => {
    const storage = new MemoryReminderStorage();
    const backend = new MemoryBackend();
    const first = runtime(storage, backend);
    first.rt.register(account);
    const down: Caller = {
      ask: () => Promise.reject(new UnavailableError("down")),
      send: () => Promise.reject(new UnavailableError("down")),
      tell: async () => {},
    };
    first.rt.connect(down);
    await first.rt.ref(account, "a").ask({ deposit: { amount: 10, txn: "d" } });
    await first.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 4, txn: "t1" } });
    await first.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 1, txn: "t2" } });
    // Enlisted once, before the first sending turn's append.
    expect((await storage.loadShard(0)).map((r) => [r.type, r.id, r.name])).toEqual([["account", "a", WAKE_NAME]]);
    await first.rt.stop(); // its node dies: nothing will ask for a again

    const second = runtime(storage, backend, new ManualClock(T0 + 1000));
    second.rt.register(account);
    await second.advance(WAKE_EVERY + 500, 500);
    expect(second.rt.isActive("account", "a")).toBe(true);
    expect((await second.rt.ref(account, "b").ask({ balance: {} })).balance).toBe(5);
    // Nothing left to send: the next wake-up ends the registration.
    await second.advance(WAKE_EVERY + 500, 500);
    expect(await storage.loadShard(0)).toEqual([]);
    // Its next sending turn registers it again.
    await second.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 1, txn: "t3" } });
    expect((await storage.loadShard(0)).map((r) => r.name)).toEqual([WAKE_NAME]);
    await second.rt.stop();
  });
});
