import { describe, expect, it } from "vitest";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import { account } from "../src/actors/account.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import type { ActorKey, EventStore, LoadedJournal } from "../src/store/types.js";
import { codeOf } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

/** An in-memory actor that records the order in which it saw messages. */
const recorder = defineInMemoryActor<number[], { n: number }, number[]>({
  type: "recorder",
  initialState: () => [],
  validate(input) {
    const n = (input as { n?: unknown })?.n;
    if (typeof n !== "number") throw new Error("n must be a number");
    return { n };
  },
  handle: (state, msg) => ({ state: [...state, msg.n], reply: [...state, msg.n] }),
  serialize: (s) => s,
  deserialize: (d) => d as number[],
});

/** An actor whose turns wait for the test to let them finish. */
function gated() {
  const gates: Array<() => void> = [];
  const started: number[] = [];
  const def = defineInMemoryActor<number, { n: number }, number>({
    type: "gated",
    initialState: () => 0,
    validate: (m) => m as { n: number },
    async handle(state, msg) {
      started.push(msg.n);
      await new Promise<void>((r) => gates.push(r));
      return { state: state + 1, reply: msg.n };
    },
    serialize: (s) => s,
    deserialize: (d) => d as number,
    mailboxCapacity: 3,
  });
  return { def, gates, started };
}

const code = codeOf;

function runtime(opts: Partial<ConstructorParameters<typeof Runtime>[0]> = {}) {
  const store = opts.store ?? new MemoryEventStore();
  return new Runtime({ nodeId: "n1", store, actors: [account, recorder], ...opts });
}

describe("runtime", () => {
  it("handles one turn at a time per actor, in arrival order", async () => {
    const rt = runtime();
    const replies = await Promise.all(Array.from({ length: 200 }, (_, n) => rt.ask("recorder", "r", { n })));
    expect(replies.at(-1)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    // A gated actor shows that no second turn starts while one is in flight.
    const g = gated();
    const rt2 = runtime({ actors: [g.def] });
    const a = rt2.ask("gated", "x", { n: 1 });
    const b = rt2.ask("gated", "x", { n: 2 });
    await turns(1);
    expect(g.started).toEqual([1]);
    g.gates.shift()!();
    await expect(a).resolves.toBe(1);
    await turns(1);
    expect(g.started).toEqual([1, 2]);
    g.gates.shift()!();
    await expect(b).resolves.toBe(2);
  });

  it("runs different actors concurrently", async () => {
    const g = gated();
    const rt = runtime({ actors: [g.def] });
    const a = rt.ask("gated", "a", { n: 1 });
    const b = rt.ask("gated", "b", { n: 2 });
    await turns(1);
    expect(g.started.sort()).toEqual([1, 2]);
    for (const open of g.gates) open();
    await Promise.all([a, b]);
  });

  it("rejects bad input with typed errors and changes nothing", async () => {
    const store = new MemoryEventStore();
    const told: unknown[] = [];
    const rt = runtime({ store, onTellFailed: (err) => told.push(err) });
    expect(await code(rt.ask("nope", "a", {}))).toBe(ErrorCode.UNKNOWN_ACTOR_TYPE);
    expect(await code(rt.ask("account", "", { balance: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.ask("account", "x".repeat(513), { balance: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.ask("account", "\uD800", { balance: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.ask("account", "a", { deposit: { amount: -5, txn: "t" } }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.ask("account", "a", { deposit: { amount: 1.5, txn: "t" } }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.ask("account", "a", { steal: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(rt.ask("recorder", "a", { n: "x" }))).toBe(ErrorCode.BAD_REQUEST);
    // A tell never throws (taken at once: a runtime on its own has no bound): its failure goes to the hook.
    await expect(rt.tell("account", "a", "garbage")).resolves.toBeUndefined();
    expect(told).toEqual([expect.objectContaining({ code: ErrorCode.BAD_REQUEST, message: expect.stringMatching(/account message/) })]);
    expect(() => rt.ref(account, "")).toThrow(/must not be empty/);
    expect(await store.version({ type: "account", id: "a" })).toBe(0);
    expect(rt.isActive("account", "a")).toBe(false);
  });

  it("applies a repeated txn once and refuses overdrafts without writing", async () => {
    const store = new MemoryEventStore();
    const rt = runtime({ store });
    const d1 = await rt.ref(account, "acc").ask({ deposit: { amount: 10, txn: "t1" } });
    expect(d1).toEqual({ balance: 10, version: 1, node: "n1", applied: true });
    const again = await rt.ref(account, "acc").ask({ deposit: { amount: 10, txn: "t1" } });
    expect(again).toEqual({ balance: 10, version: 1, node: "n1", applied: false });
    expect(await code(rt.ref(account, "acc").ask({ withdraw: { amount: 11, txn: "t2" } }))).toBe(ErrorCode.REJECTED);
    expect(await rt.ref(account, "acc").ask({ withdraw: { amount: 4, txn: "t2" } })).toMatchObject({ balance: 6, version: 2 });
    expect(await store.version({ type: "account", id: "acc" })).toBe(2);
  });

  it("fails asks past a full mailbox with OVERLOADED and keeps serving", async () => {
    const g = gated();
    const told: unknown[] = [];
    const rt = runtime({ actors: [g.def], onTellFailed: (err) => told.push(err) });
    const first = rt.ask("gated", "x", { n: 0 }); // in flight, not in the mailbox
    await turns(1);
    const queued = [1, 2, 3].map((n) => rt.ask("gated", "x", { n }));
    expect(await code(rt.ask("gated", "x", { n: 4 }))).toBe(ErrorCode.OVERLOADED);
    rt.tell("gated", "x", { n: 5 });
    expect(told).toEqual([expect.objectContaining({ code: ErrorCode.OVERLOADED })]);
    for (let i = 0; i < 4; i++) {
      await turns(1);
      g.gates.shift()!();
    }
    expect(await Promise.all([first, ...queued])).toEqual([0, 1, 2, 3]);
  });

  it("times out asks with TIMEOUT and skips them if they never started", async () => {
    const clock = new ManualClock();
    const g = gated();
    const rt = runtime({ actors: [g.def], clock });
    const a = rt.ask("gated", "x", { n: 1 }, { timeout: 100 });
    const b = rt.ask("gated", "x", { n: 2 }, { timeout: 100 });
    await turns(1);
    clock.advance(101);
    expect(await code(a)).toBe(ErrorCode.TIMEOUT);
    expect(await code(b)).toBe(ErrorCode.TIMEOUT);
    g.gates.shift()!(); // the turn of 1 completes after its caller gave up
    await turns(1);
    expect(g.started).toEqual([1]); // 2 expired in the mailbox and never ran
  });

  it("passivates idle event-sourced actors and rebuilds them from the store", async () => {
    const clock = new ManualClock();
    const store = new MemoryEventStore();
    const rt = runtime({ store, clock, passivateAfter: 1000, passivationInterval: 100 });
    await rt.ref(account, "p").ask({ deposit: { amount: 7, txn: "a" } });
    await rt.ask("recorder", "r", { n: 1 });
    clock.advance(500);
    expect(rt.isActive("account", "p")).toBe(true);
    clock.advance(600);
    expect(rt.isActive("account", "p")).toBe(false);
    expect(rt.isActive("recorder", "r")).toBe(true); // in-memory state is never dropped by default
    expect(await rt.ref(account, "p").ask({ deposit: { amount: 7, txn: "a" } })).toMatchObject({ balance: 7, applied: false });
  });

  it("rebuilds the same state in a new runtime (snapshot + tail)", async () => {
    const store = new MemoryEventStore();
    const small = defineActor({ ...account, snapshotEvery: 3 });
    const rt1 = runtime({ store, actors: [small] });
    for (let i = 0; i < 10; i++) await rt1.ref(small, "s").ask({ deposit: { amount: i + 1, txn: `t${i}` } });
    await rt1.stop();
    await turns(1);
    expect((await store.loadSnapshot({ type: "account", id: "s" }))?.version).toBe(9);
    const rt2 = runtime({ store, actors: [small] });
    expect(await rt2.ref(small, "s").ask({ balance: {} })).toEqual({ balance: 55, version: 10, node: "n1" });
    expect(await rt2.ref(small, "s").ask({ deposit: { amount: 1, txn: "t3" } })).toMatchObject({ applied: false });
  });

  it("turns a concurrent writer into CONFLICT, then reloads and carries on", async () => {
    const store = new MemoryEventStore();
    const rt = runtime({ store });
    await rt.ref(account, "c").ask({ deposit: { amount: 1, txn: "a" } });
    await store.append({ type: "account", id: "c" }, [{ deposited: { amount: 100, txn: "elsewhere" } }], 1);
    expect(await code(rt.ref(account, "c").ask({ deposit: { amount: 1, txn: "b" } }))).toBe(ErrorCode.CONFLICT);
    expect(await rt.ref(account, "c").ask({ deposit: { amount: 1, txn: "b" } })).toMatchObject({ balance: 102, version: 3 });
  });

  it("rejects queued messages with the load error when activation fails", async () => {
    const failing: EventStore = Object.assign(new MemoryEventStore(), {
      load: async (_k: ActorKey): Promise<LoadedJournal> => {
        throw new ShoalError("UNAVAILABLE", "store down");
      },
    });
    const rt = runtime({ store: failing });
    const results = await Promise.all([1, 2].map(() => code(rt.ref(account, "z").ask({ balance: {} }))));
    expect(results).toEqual([ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE]);
    expect(rt.isActive("account", "z")).toBe(false);
  });

  it("pauses a group: in-flight turns finish, new messages buffer in order, resume replays them", async () => {
    const g = gated();
    const rt = runtime({ actors: [g.def, recorder] });
    const inflight = rt.ask("gated", "x", { n: 1 });
    await turns(1);
    const pausing = rt.pause((type) => type === "gated");
    let paused = false;
    void pausing.then(() => (paused = true));
    const later = [2, 3].map((n) => rt.ask("gated", "x", { n }));
    await turns(1);
    expect(paused).toBe(false); // waits for the in-flight turn
    g.gates.shift()!();
    const group = await pausing;
    expect(await inflight).toBe(1);
    expect(group.buffered.map((p) => (p.msg as { n: number }).n)).toEqual([2, 3]);
    expect(group.capture()).toEqual([{ type: "gated", id: "x", version: 1, state: 1 }]);
    expect(await rt.ask("recorder", "other", { n: 9 })).toEqual([9]); // other actors unaffected
    group.resume();
    for (let i = 0; i < 2; i++) {
      await turns(1);
      g.gates.shift()!();
    }
    expect(await Promise.all(later)).toEqual([2, 3]);
    expect(g.started).toEqual([1, 2, 3]);
  });

  it("releases a group: actors leave, buffered messages are handed back, state moves by adopt", async () => {
    const rt = runtime();
    await rt.ask("recorder", "m", { n: 1 });
    const group = await rt.pause((type, id) => type === "recorder" && id === "m");
    const waiting = rt.ask("recorder", "m", { n: 2 });
    const [captured] = group.capture();
    const handed = group.release();
    expect(handed).toHaveLength(1);
    expect(rt.isActive("recorder", "m")).toBe(false);
    const dest = runtime();
    dest.adopt(captured!.type, captured!.id, captured!.version, captured!.state);
    // The coordinator forwards the buffered message to the new home and settles the caller.
    const p = handed[0]!;
    p.resolve(await dest.ask(p.type, p.id, p.msg));
    expect(await waiting).toEqual([1, 2]);
  });

  it("stop fails queued messages with UNAVAILABLE and refuses new ones", async () => {
    const g = gated();
    const rt = runtime({ actors: [g.def] });
    const a = rt.ask("gated", "x", { n: 1 });
    const b = rt.ask("gated", "x", { n: 2 });
    await turns(1);
    const stopping = rt.stop();
    g.gates.shift()!();
    await stopping;
    expect(await a).toBe(1);
    expect(await code(b)).toBe(ErrorCode.UNAVAILABLE);
    expect(await code(rt.ask("gated", "x", { n: 3 }))).toBe(ErrorCode.UNAVAILABLE);
  });

  it("holds a partition: only its messages buffer; adopted actors are captured; resume(before) runs `before` first", async () => {
    const rt = runtime({ partitionOf: (_t, id) => (id.startsWith("p1") ? 1 : 0) });
    await rt.ask("recorder", "p1-a", { n: 1 });
    const hold = rt.holdPartition(1);
    const held = rt.ask("recorder", "p1-a", { n: 3 });
    expect(await rt.ask("recorder", "p0-a", { n: 7 })).toEqual([7]); // other partitions run
    rt.adopt("recorder", "p1-b", 4, [40]);
    await hold.ready;
    expect(
      hold
        .capture()
        .map((c) => c.id)
        .sort(),
    ).toEqual(["p1-a", "p1-b"]);
    let firstReply: unknown;
    const first = rt.prepare("recorder", "p1-a", { n: 2 }, rt.clock.now() + 1000, { ok: (r) => (firstReply = r), fail: () => undefined });
    hold.resume([first]);
    expect(await held).toEqual([1, 2, 3]); // the forwarded message ran before the held one
    expect(firstReply).toEqual([1, 2]);
    expect(() => rt.holdPartition(1) && rt.holdPartition(1)).toThrow(/already paused/);
  });

  it("calls the fence before every turn and before every append: a refusal writes nothing", async () => {
    const store = new MemoryEventStore();
    let allow = true;
    const calls: string[] = [];
    const rt = runtime({
      store,
      fence: (key) => {
        calls.push(key.id);
        if (!allow) throw new ShoalError("ACTOR_MOVED", "not ours any more");
      },
    });
    await rt.ref(account, "f").ask({ deposit: { amount: 1, txn: "a" } });
    expect(calls).toEqual(["f", "f"]); // turn start, then right before the append
    allow = false;
    expect(await code(rt.ref(account, "f").ask({ deposit: { amount: 1, txn: "b" } }))).toBe(ErrorCode.ACTOR_MOVED);
    expect(await code(rt.ask("recorder", "f", { n: 1 }))).toBe(ErrorCode.ACTOR_MOVED);
    expect(await store.version({ type: "account", id: "f" })).toBe(1);
  });
});
