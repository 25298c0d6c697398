/** A full mailbox by the type's `overflow` policy: reject, drop-oldest, wait — through pauses and a live handoff. */
import { describe, expect, it } from "vitest";
import { defineInMemoryActor } from "../src/actor/define.js";
import type { MailboxOverflow } from "../src/actor/spec.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { Mailbox } from "../src/runtime/mailbox.js";
import { Pending } from "../src/runtime/pending.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { directTransport, mapOf, migrationNode, type PairNode } from "./support/migration-pair.js";
import { outcome } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

/** Turns of messages with `hold` wait until the test opens their gate. */
const gates: Array<() => void> = [];
const openGates = async () => {
  for (let i = 0; i < 20 && gates.length > 0; i++) {
    for (const open of gates.splice(0)) open();
    await turns();
  }
  await turns();
};

interface Msg {
  n: number;
  hold?: boolean;
}

/** An in-memory actor that records the `n` of every message it applies, with a mailbox of `capacity`. */
const slow = (overflow: MailboxOverflow | undefined, capacity: number) =>
  defineInMemoryActor<number[], Msg, number[]>({
    type: "slow",
    initialState: () => [],
    validate: (input) => input as Msg,
    async handle(state, msg) {
      if (msg.hold === true) await new Promise<void>((r) => gates.push(r));
      return { state: [...state, msg.n], reply: [...state, msg.n] };
    },
    serialize: (s) => s,
    deserialize: (d) => d as number[],
    mailboxCapacity: capacity,
    overflow,
  });

function setup(overflow: MailboxOverflow | undefined, capacity = 2) {
  const full: string[] = [];
  const toldFailed: unknown[] = [];
  const clock = new ManualClock();
  const rt = new Runtime({
    nodeId: "n1",
    store: new MemoryEventStore(),
    actors: [slow(overflow, capacity)],
    clock,
    onMailboxFull: (type, what) => void full.push(`${type}:${what}`),
    onTellFailed: (err) => void toldFailed.push(err),
  });
  const ask = (n: number, extra: Partial<Msg> & { timeout?: number; seq?: number } = {}) => {
    const { timeout, seq, ...rest } = extra;
    const order = seq === undefined ? undefined : { sender: "s", seq, settled: 0 };
    return outcome(rt.ask("slow", "x", { n, ...rest }, { timeout, order }));
  };
  return { rt, clock, full, toldFailed, ask };
}

const dropped = (err: unknown) => ShoalError.is(err, ErrorCode.OVERLOADED) && err.details?.dropped === true;

describe("mailbox overflow", () => {
  it("reject (the default) fails the new message with OVERLOADED and queues nothing", async () => {
    const t = setup(undefined);
    const a1 = t.ask(1, { hold: true });
    await turns();
    const [a2, a3, a4] = [t.ask(2), t.ask(3), t.ask(4)];
    expect(await a4).toEqual({ err: ErrorCode.OVERLOADED });
    await openGates();
    expect(await Promise.all([a1, a2, a3])).toEqual([{ ok: [1] }, { ok: [1, 2] }, { ok: [1, 2, 3] }]);
    expect(t.full).toEqual(["slow:rejected"]);
  });

  it("drop-oldest fails the oldest queued message (an ask's caller, a tell's hook) and queues the new one", async () => {
    const t = setup("drop-oldest");
    const a1 = t.ask(1, { hold: true });
    await turns();
    const [a2, a3] = [t.ask(2), t.ask(3)];
    await t.rt.tell("slow", "x", { n: 4 }); // drops 2
    const a5 = t.ask(5); // drops 3
    await t.rt.tell("slow", "x", { n: 6 }); // drops the tell 4
    expect(await a2).toEqual({ err: ErrorCode.OVERLOADED });
    expect(await a3).toEqual({ err: ErrorCode.OVERLOADED });
    expect(t.toldFailed.map(dropped)).toEqual([true]);
    await openGates();
    expect(await a1).toEqual({ ok: [1] });
    expect(await a5).toEqual({ ok: [1, 5] });
    expect(await t.ask(7)).toEqual({ ok: [1, 5, 6, 7] });
    expect(t.full).toEqual(["slow:dropped", "slow:dropped", "slow:dropped"]);
  });

  it("drop-oldest never drops a message the order gate keeps for its sender; with nothing else to drop the new one is refused", async () => {
    const t = setup("drop-oldest");
    const s2 = t.ask(20, { seq: 2 }); // early: kept by the gate until seq 1 has run
    await turns();
    const a1 = t.ask(1, { hold: true });
    await turns();
    const b = t.ask(2); // queued: the gate's one and b fill the mailbox
    const c = t.ask(3); // drops b
    const s1 = t.ask(10, { seq: 1 }); // drops c, never s2
    expect(await b).toEqual({ err: ErrorCode.OVERLOADED });
    expect(await c).toEqual({ err: ErrorCode.OVERLOADED });
    await openGates();
    expect(await Promise.all([a1, s1, s2])).toEqual([{ ok: [1] }, { ok: [1, 10] }, { ok: [1, 10, 20] }]);

    const one = setup("drop-oldest", 1);
    const kept = one.ask(20, { seq: 2 });
    await turns();
    expect(await one.ask(1)).toEqual({ err: ErrorCode.OVERLOADED }); // only the gate's message: nothing to drop
    expect(one.full).toEqual(["slow:rejected"]);
    one.clock.advance(300); // its gap times out: it runs
    expect(await kept).toEqual({ ok: [20] });
  });

  it("drop-oldest moves a sender on past its dropped message: the next one runs without waiting out a gap", async () => {
    const t = setup("drop-oldest");
    const a1 = t.ask(1, { hold: true });
    await turns();
    const s1 = t.ask(10, { seq: 1 });
    const s2 = t.ask(20, { seq: 2 });
    const b = t.ask(3); // drops s1, the message its sender's order expects next
    expect(await s1).toEqual({ err: ErrorCode.OVERLOADED });
    let answered: unknown;
    void s2.then((o) => (answered = o));
    await openGates(); // no clock advance: a gap timeout would hold s2
    expect(answered).toEqual({ ok: [1, 20] });
    expect(await Promise.all([a1, b])).toEqual([{ ok: [1] }, { ok: [1, 20, 3] }]);
  });

  it("drop-oldest never takes a timer's firing", () => {
    const mb = new Mailbox();
    const to = { ok: () => undefined, fail: () => undefined };
    const firing = new Pending("slow", "x", { n: 0 }, Number.POSITIVE_INFINITY, to, undefined, { name: "tick", gen: 1 });
    const plain = new Pending("slow", "x", { n: 1 }, Number.POSITIVE_INFINITY, to);
    mb.push(firing);
    mb.push(plain);
    expect(mb.takeOldest()).toBe(plain);
    expect(mb.takeOldest()).toBeUndefined();
    expect(mb.drain()).toEqual([firing]);
  });

  it("wait: a message that finds the mailbox full waits, in arrival order, for a turn to make room; one past its deadline fails with TIMEOUT", async () => {
    const t = setup("wait");
    const a1 = t.ask(1, { hold: true });
    await turns();
    const queued = [t.ask(2), t.ask(3)];
    const a4 = t.ask(4);
    const a5 = t.ask(5, { timeout: 100 });
    await t.rt.tell("slow", "x", { n: 6 });
    const a7 = t.ask(7);
    expect(t.full).toEqual(["slow:waited", "slow:waited", "slow:waited", "slow:waited"]);
    expect(t.rt.stats().mailboxDepth).toBe(6);
    t.clock.advance(101);
    expect(await a5).toEqual({ err: ErrorCode.TIMEOUT });
    await openGates();
    expect(await Promise.all([a1, ...queued, a4, a7])).toEqual([
      { ok: [1] },
      { ok: [1, 2] },
      { ok: [1, 2, 3] },
      { ok: [1, 2, 3, 4] },
      { ok: [1, 2, 3, 4, 6, 7] },
    ]);
    expect(t.toldFailed).toEqual([]);
    expect(t.rt.stats().mailboxDepth).toBe(0);
  });

  it("wait: a pause takes the waiting messages with the queued ones, in order, and a resume runs each once", async () => {
    const t = setup("wait");
    const a1 = t.ask(1, { hold: true });
    await turns();
    const rest = [2, 3, 4, 5].map((n) => t.ask(n));
    const pausing = t.rt.pause((type) => type === "slow");
    await openGates();
    const group = await pausing;
    expect(group.buffered.map((p) => (p.msg as Msg).n)).toEqual([2, 3, 4, 5]);
    const a6 = t.ask(6);
    group.resume();
    await openGates();
    expect(await Promise.all([a1, ...rest, a6])).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ ok: [1, 2, 3, 4, 5, 6].slice(0, n) })));
  });

  it("wait: a live handoff carries the waiting messages to the new owner, in order, once each", async () => {
    const def = slow("wait", 2);
    let destination!: PairNode;
    const transport = directTransport(() => destination);
    const source = migrationNode("A", [def], transport, () => mapOf(1, "A"));
    destination = migrationNode("B", [def], transport, () => mapOf(2, "B"));
    const ask = (n: number, hold = false) => outcome(source.runtime.ask("slow", "s1-x", { n, hold }));
    const a1 = ask(1, true);
    await turns();
    const rest = [2, 3, 4, 5].map((n) => ask(n)); // 2 and 3 queued, 4 and 5 waiting for room
    destination.migrations.onMap(mapOf(1, "A"), mapOf(2, "B"));
    source.migrations.onMap(mapOf(1, "A"), mapOf(2, "B"));
    await openGates(); // the turn in flight ends: the shard's state and its tail go to B
    await source.migrations.whenIdle();
    await openGates();
    expect(await Promise.all([a1, ...rest])).toEqual([1, 2, 3, 4, 5].map((n) => ({ ok: [1, 2, 3, 4, 5].slice(0, n) })));
    expect(source.runtime.isActive("slow", "s1-x")).toBe(false);
    expect(await destination.runtime.ask("slow", "s1-x", { n: 6 })).toEqual([1, 2, 3, 4, 5, 6]);
    await source.runtime.stop();
    await destination.runtime.stop();
  });

  it("defineActor refuses an overflow policy it does not know", () => {
    expect(() => slow("spill" as MailboxOverflow, 2)).toThrow(/overflow of actor type slow must be one of reject, drop-oldest, wait/);
    for (const ok of ["reject", "drop-oldest", "wait"] as const) expect(slow(ok, 2).overflow).toBe(ok);
  });
});
