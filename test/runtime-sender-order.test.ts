/** Per-sender order in the runtime: messages with `sender`/`seq` run in seq order per actor; a pause takes held ones; the table is captured and adopted. */
import { describe, expect, it } from "vitest";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode } from "../src/errors.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { outcome } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

/** An in-memory actor that records the order in which it applied messages. */
const log = defineInMemoryActor<string[], { m: string }, string[]>({
  type: "log",
  initialState: () => [],
  validate: (input) => input as { m: string },
  handle: (state, msg) => ({ state: [...state, msg.m], reply: [...state, msg.m] }),
  serialize: (s) => s,
  deserialize: (d) => d as string[],
});

/** An event-sourced actor whose append the test can make conflict once. */
function conflicting(store: MemoryEventStore) {
  let conflictOnce = false;
  const def = defineActor({
    type: "es",
    initialState: (): string[] => [],
    validate: (input: unknown) => input as { m: string },
    handle: (_state: string[], msg: { m: string }) => ({ events: [msg.m], reply: null }),
    evolve: (state: string[], e: string) => [...state, e],
  });
  const append = store.append.bind(store);
  store.append = (key, events, expected) => {
    if (conflictOnce) {
      conflictOnce = false;
      return append(key, events, expected + 1); // a wrong expected version: CONFLICT
    }
    return append(key, events, expected);
  };
  return { def, conflictNext: () => (conflictOnce = true) };
}

function setup(gapTimeout = 100) {
  const clock = new ManualClock();
  const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [log], clock, senderOrder: { gapTimeout } });
  const send = (m: string, sender?: string, seq?: number, settled = 0) =>
    outcome(rt.ask("log", "x", { m }, { timeout: 10_000, order: sender === undefined ? undefined : { sender, seq: seq!, settled } }));
  /** What the actor applied so far (asked with a message of its own, left out). */
  const applied = async () => ((await rt.ask("log", "x", { m: "?" })) as string[]).filter((m) => m !== "?");
  return { clock, rt, send, applied };
}

describe("runtime: per-sender order", () => {
  it("runs a sender's messages in seq order whatever order they arrive in; others are not held up", async () => {
    const { rt, send, applied } = setup();
    const out = [send("c3", "c", 3), send("plain"), send("c2", "c", 2), send("d1", "d", 1), send("c1", "c", 1)];
    await turns();
    expect(await applied()).toEqual(["plain", "d1", "c1", "c2", "c3"]);
    for (const o of await Promise.all(out)) expect(o).toHaveProperty("ok");
    await rt.stop();
  });

  it("refuses a message that comes after a later one was applied, with OUT_OF_ORDER, changing nothing", async () => {
    const { rt, send, applied } = setup();
    await send("c1", "c", 1);
    await send("c2", "c", 2);
    expect(await send("c1 again", "c", 1)).toEqual({ err: ErrorCode.OUT_OF_ORDER });
    expect(await applied()).toEqual(["c1", "c2"]);
    await rt.stop();
  });

  it("after the gap timeout an early message runs, and the one it waited for is refused when it comes", async () => {
    const { clock, rt, send, applied } = setup(100);
    await send("c1", "c", 1);
    const c3 = send("c3", "c", 3);
    await turns();
    expect(await applied()).toEqual(["c1"]);
    clock.advance(100);
    expect(await c3).toHaveProperty("ok");
    expect(await send("c2", "c", 2)).toEqual({ err: ErrorCode.OUT_OF_ORDER });
    expect(await applied()).toEqual(["c1", "c3"]);
    await rt.stop();
  });

  it("a message whose earlier ones are all settled runs at once, even from a sender the actor does not know", async () => {
    const { rt, send, applied } = setup();
    expect(await send("c57", "c", 57, 56)).toEqual({ ok: ["c57"] }); // after a failover: no gap timeout
    const c59 = send("c59", "c", 59, 57); // 58 still in flight
    await turns();
    expect(await applied()).toEqual(["c57"]);
    expect(await send("c58", "c", 58, 57)).toHaveProperty("ok");
    expect(await c59).toHaveProperty("ok");
    expect(await applied()).toEqual(["c57", "c58", "c59"]);
    await rt.stop();
  });

  it("counts held messages against the mailbox capacity", async () => {
    const clock = new ManualClock();
    const rt = new Runtime({ nodeId: "n1", store: new MemoryEventStore(), actors: [log], clock, mailboxCapacity: 2 });
    const held = [2, 3].map((seq) => outcome(rt.ask("log", "x", { m: `c${seq}` }, { order: { sender: "c", seq, settled: 0 } })));
    await turns();
    expect(rt.stats().mailboxDepth).toBe(2);
    expect(await outcome(rt.ask("log", "x", { m: "c4" }, { order: { sender: "c", seq: 4, settled: 0 } }))).toEqual({ err: ErrorCode.OVERLOADED });
    clock.advance(1000);
    for (const o of await Promise.all(held)) expect(o).toHaveProperty("ok");
    await rt.stop();
  });

  it("a turn that failed with CONFLICT keeps its place: its retry runs before the next", async () => {
    const clock = new ManualClock();
    const store = new MemoryEventStore();
    const es = conflicting(store);
    const rt = new Runtime({ nodeId: "n1", store, actors: [es.def], clock });
    const ask = (m: string, seq: number) => outcome(rt.ask("es", "y", { m }, { order: { sender: "c", seq, settled: 0 } }));
    expect(await ask("e1", 1)).toHaveProperty("ok");
    es.conflictNext();
    expect(await ask("e2", 2)).toEqual({ err: ErrorCode.CONFLICT });
    expect(await ask("e2", 2)).toHaveProperty("ok"); // the router's retry
    expect(await ask("e3", 3)).toHaveProperty("ok");
    expect((await store.load({ type: "es", id: "y" })).events.map((e) => e.event)).toEqual(["e1", "e2", "e3"]);
    await rt.stop();
  });

  it("a pause takes the held messages and captures the table; adopting it elsewhere keeps the order", async () => {
    const { rt, send } = setup();
    await send("c1", "c", 1);
    const c3 = send("c3", "c", 3); // held for c2
    await turns();
    const group = await rt.pause((type) => type === "log");
    expect(group.buffered.map((p) => p.order?.seq)).toEqual([3]);
    const [captured] = group.capture();
    expect(captured?.order).toEqual([["c", 2]]);
    const clock2 = new ManualClock();
    const there = new Runtime({ nodeId: "n2", store: new MemoryEventStore(), actors: [log], clock: clock2 });
    there.adopt("log", "x", captured!.version, captured!.state, captured!.order);
    // The buffered c3 goes on to the new owner, then c2 arrives there directly: c2 runs first.
    const moved = group.release();
    const c3There = outcome(there.ask("log", "x", { m: "c3" }, { order: moved[0]!.order }));
    const c2There = outcome(there.ask("log", "x", { m: "c2" }, { order: { sender: "c", seq: 2, settled: 0 } }));
    expect(await c2There).toEqual({ ok: ["c1", "c2"] });
    expect(await c3There).toEqual({ ok: ["c1", "c2", "c3"] });
    expect(await outcome(there.ask("log", "x", { m: "c1" }, { order: { sender: "c", seq: 1, settled: 0 } }))).toEqual({ err: ErrorCode.OUT_OF_ORDER });
    void c3;
    await rt.stop();
    await there.stop();
  });
});
