import { describe, expect, it } from "vitest";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ManualClock } from "../src/clock.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { turns } from "./support/turns.js";

const make = (type: string, prewarm: boolean) =>
  defineInMemoryActor({
    type,
    prewarm,
    passivateAfter: 1000,
    initialState: () => 0,
    messages: { hit: { validate: () => ({}), handle: (n: number) => ({ state: n + 1, reply: n + 1 }) } },
    serialize: (n) => n,
    deserialize: (d) => d as number,
  });

describe("pre-warmed types", () => {
  it("are recorded while in memory and forgotten when they passivate; other types are not recorded", async () => {
    const calls: string[] = [];
    const clock = new ManualClock();
    const rt = new Runtime({
      nodeId: "n1",
      store: new MemoryEventStore(),
      actors: [make("warm", true), make("cold", false)],
      clock,
      passivationInterval: 100,
      keepAlive: { activated: (k) => calls.push(`+${k.type}/${k.id}`), stopped: (k) => calls.push(`-${k.type}/${k.id}`) },
    });
    await rt.ask("warm", "w1", { hit: {} });
    await rt.ask("warm", "w1", { hit: {} }); // already active: not recorded again
    await rt.ask("cold", "c1", { hit: {} });
    expect(calls).toEqual(["+warm/w1"]);
    for (let i = 0; i < 15; i++) {
      clock.advance(100);
      await turns();
    }
    expect(calls).toEqual(["+warm/w1", "-warm/w1"]);
    await rt.stop();
  });

  it("refuses prewarm that is not a boolean, or with keepAlive", () => {
    const base = { type: "t", initialState: () => 0, serialize: (n: number) => n, deserialize: (d: unknown) => d as number, messages: {} };
    expect(() => defineInMemoryActor({ ...base, prewarm: "yes" as unknown as boolean })).toThrow(TypeError);
    expect(() => defineInMemoryActor({ ...base, prewarm: true, keepAlive: true })).toThrow(/must not set prewarm/);
  });
});
