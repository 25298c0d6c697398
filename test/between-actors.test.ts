/**
 * Messages between actors in one process: the outbox of an event-sourced sender (stored with the
 * turn's events, sent after, sent again by whoever loads the actor next), the receiver applying
 * each origin once, in-memory senders, and asks inside a turn (deadline cap, CALL_CYCLE).
 */
import { describe, expect, it } from "vitest";
import type { ActorType } from "../src/actor/calls.js";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import type { ActorDefinition } from "../src/actor/spec.js";
import { account } from "../src/actors/account.js";
import { BadRequestError, RejectedError, UnavailableError } from "../src/errors.js";
import type { Caller, DeliveryOptions } from "../src/ref.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryBackend, MemoryEventStore } from "../src/store/memory.js";
import { codeOf } from "./support/outcomes.js";
import { turns } from "./support/turns.js";
import { settled } from "./support/settled.js";

const key = (id: string) => ({ type: "account", id });

/** A caller in front of `rt` that can refuse, drop or duplicate the messages between actors it carries. */
class Wire implements Caller {
  mode: "pass" | "refuse" | "twice" | "bad" = "pass";
  carried = 0;
  constructor(private readonly rt: Runtime) {}
  ask(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<unknown> {
    return this.rt.ask(type, id, msg, opts);
  }
  async send(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void> {
    this.carried++;
    if (this.mode === "refuse") throw new UnavailableError("the link is down");
    if (this.mode === "bad") throw new BadRequestError("a peer of another version");
    if (this.mode === "twice") await Promise.all([this.rt.send(type, id, msg, opts), this.rt.send(type, id, msg, opts)]);
    else await this.rt.send(type, id, msg, opts);
  }
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void> {
    return this.rt.tell(type, id, msg, opts);
  }
}

function node(backend: MemoryBackend, actors: readonly ActorDefinition[] = [account]): { rt: Runtime; wire: Wire } {
  const rt = new Runtime({ nodeId: "n", store: new MemoryEventStore({ backend }), actors, passivationInterval: 60_000 });
  const wire = new Wire(rt);
  rt.connect(wire);
  return { rt, wire };
}

const balance = async (rt: Runtime, id: string) => (await rt.ref(account, id).ask({ balance: {} })).balance;

describe("transfers between accounts (the outbox)", () => {
  it("debits at once and credits exactly once; a repeated txn is a no-op; insufficient funds is REJECTED", async () => {
    const { rt } = node(new MemoryBackend());
    await rt.ref(account, "a").ask({ deposit: { amount: 100, txn: "d1" } });
    const r = await rt.ref(account, "a").ask({ transfer: { to: "b", amount: 30, txn: "t1" } });
    expect(r).toMatchObject({ balance: 70, applied: true });
    await settled(async () => (await balance(rt, "b")) === 30);
    expect((await rt.ref(account, "a").ask({ transfer: { to: "b", amount: 30, txn: "t1" } })).applied).toBe(false);
    expect(await codeOf(rt.ref(account, "a").ask({ transfer: { to: "b", amount: 71, txn: "t2" } }))).toBe("REJECTED");
    expect(await codeOf(rt.ref(account, "a").ask({ transfer: { to: "a", amount: 1, txn: "t3" } }))).toBe("BAD_REQUEST");
    expect(await codeOf(rt.ref(account, "a").send({ transfer: { to: "", amount: 1, txn: "t4" } } as never))).toBe("BAD_REQUEST");
    await turns(20);
    expect([await balance(rt, "a"), await balance(rt, "b")]).toEqual([70, 30]);
    await rt.stop();
  });

  it("stores the credit with the debit, and whoever loads the sender next sends it (a crash before delivery)", async () => {
    const backend = new MemoryBackend();
    const first = node(backend);
    await first.rt.ref(account, "a").ask({ deposit: { amount: 50, txn: "d1" } });
    first.wire.mode = "refuse"; // the credit cannot leave: the link is down, then the node "crashes"
    await first.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 20, txn: "t1" } });
    await settled(async () => first.wire.carried > 0);
    await first.rt.stop();
    const journal = await new MemoryEventStore({ backend }).load(key("a"));
    expect(journal.metas).toEqual([{ version: 2, meta: { o: [["account", "b", { credit: { from: "a", amount: 20, txn: "t1" } }, 0]] } }]);
    expect(await new MemoryEventStore({ backend }).version(key("b"))).toBe(0);

    const second = node(backend);
    expect(await balance(second.rt, "a")).toBe(30); // loading a sends what it had not delivered
    await settled(async () => (await balance(second.rt, "b")) === 20);
    await second.rt.stop();
  });

  it("applies each origin once: duplicated deliveries, and a resend after the receiver stored it", async () => {
    const backend = new MemoryBackend();
    const first = node(backend);
    first.wire.mode = "twice";
    await first.rt.ref(account, "a").ask({ deposit: { amount: 50, txn: "d1" } });
    for (let i = 0; i < 5; i++) await first.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 1, txn: `t${i}` } });
    await settled(async () => (await balance(first.rt, "b")) === 5);
    await turns(20);
    expect(await balance(first.rt, "b")).toBe(5);
    await first.rt.stop();
    // The sender's journal has no acknowledgement mark past its last transfer (nothing was
    // appended after it): a fresh node sends the last credit again, and b's journal drops it.
    const second = node(backend);
    expect(await balance(second.rt, "a")).toBe(45);
    expect(await balance(second.rt, "b")).toBe(5);
    await turns(50);
    expect(await balance(second.rt, "b")).toBe(5);
    expect((await new MemoryEventStore({ backend }).read(key("b"))).length).toBe(5);
    await second.rt.stop();
  });

  it("keeps retrying a message any receiver answer but REJECTED fails (BAD_REQUEST from a peer of another version)", async () => {
    const { rt, wire } = node(new MemoryBackend());
    await rt.ref(account, "a").ask({ deposit: { amount: 10, txn: "d1" } });
    wire.mode = "bad";
    await rt.ref(account, "a").ask({ transfer: { to: "b", amount: 3, txn: "t1" } });
    await settled(async () => wire.carried >= 3);
    expect(await balance(rt, "b")).toBe(0);
    wire.mode = "pass";
    await settled(async () => (await balance(rt, "b")) === 3);
    await rt.stop();
  });

  it("records the acknowledgement mark with later appends, so a reload does not send acknowledged messages again", async () => {
    const backend = new MemoryBackend();
    const first = node(backend);
    await first.rt.ref(account, "a").ask({ deposit: { amount: 10, txn: "d1" } });
    await first.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 1, txn: "t1" } });
    await settled(async () => (await balance(first.rt, "b")) === 1);
    await first.rt.ref(account, "a").ask({ deposit: { amount: 1, txn: "d2" } });
    await first.rt.stop();
    const metas = (await new MemoryEventStore({ backend }).load(key("a"))).metas;
    expect(metas?.at(-1)).toEqual({ version: 3, meta: { a: 2 } });
    const second = node(backend);
    await balance(second.rt, "a");
    await turns(20);
    expect(second.wire.carried).toBe(0);
    await second.rt.stop();
  });

  it("keeps unacknowledged messages in snapshots", async () => {
    const backend = new MemoryBackend();
    const snappy = { ...account, snapshotEvery: 1 };
    const first = node(backend, [defineActor(snappy)]);
    await first.rt.ref(account, "a").ask({ deposit: { amount: 10, txn: "d1" } });
    first.wire.mode = "refuse";
    await first.rt.ref(account, "a").ask({ transfer: { to: "b", amount: 4, txn: "t1" } });
    await settled(async () => (await new MemoryEventStore({ backend }).loadSnapshot(key("a")))?.version === 2);
    await first.rt.stop();
    const loaded = await new MemoryEventStore({ backend }).load(key("a"));
    expect(loaded.snapshot?.version).toBe(2);
    expect(loaded.metas).toBeUndefined(); // nothing after the snapshot: the pending credit is in it
    const second = node(backend, [defineActor(snappy)]);
    await balance(second.rt, "a");
    await settled(async () => (await balance(second.rt, "b")) === 4);
    await second.rt.stop();
  });

  it("sends nothing for a turn that fails, and refuses an event-sourced turn that sends without an event", async () => {
    const sender = defineActor({
      type: "sender",
      initialState: () => ({}),
      evolve: (s) => s,
      messages: {
        sendOnly: {
          validate: (p: unknown) => p as string,
          handle: (_s, to, ctx) => {
            ctx.ref(account, to).send({ deposit: { amount: 1, txn: "x" } });
            return { reply: 1 };
          },
        },
        sendAndReject: {
          validate: (p: unknown) => p as string,
          handle: (_s, to, ctx) => {
            ctx.ref(account, to).send({ deposit: { amount: 1, txn: "y" } });
            throw new RejectedError("no");
          },
        },
        badMessage: {
          validate: (p: unknown) => p as string,
          handle: (_s, to, ctx) => {
            ctx.ref(account, to).send({ deposit: { amount: -1 } } as never);
            return { events: [1], reply: 1 };
          },
        },
      },
    });
    const { rt, wire } = node(new MemoryBackend(), [account, sender]);
    // A bug in the actor: a TypeError here, INTERNAL across the wire.
    expect(await codeOf(rt.ref(sender, "s").ask({ sendOnly: "b" }))).toMatch(
      /TypeError: a turn of event-sourced sender sent messages without recording an event/,
    );
    expect(await codeOf(rt.ref(sender, "s").ask({ sendAndReject: "b" }))).toBe("REJECTED");
    expect(await codeOf(rt.ref(sender, "s").ask({ badMessage: "b" }))).toBe("BAD_REQUEST");
    await turns(20);
    expect(wire.carried).toBe(0);
    await rt.stop();
  });
});

describe("in-memory senders", () => {
  it("send once after the turn is applied, nothing when it throws", async () => {
    const relay = defineInMemoryActor({
      type: "relay",
      initialState: () => 0,
      serialize: (s) => s,
      deserialize: (d) => d as number,
      messages: {
        pass: {
          validate: (p: unknown) => p as { to: string; n: number; fail?: boolean },
          handle: (s, p, ctx) => {
            ctx.ref(account, p.to).send({ deposit: { amount: p.n, txn: `r${s}` } });
            if (p.fail === true) throw new RejectedError("no");
            return { state: s + 1, reply: s };
          },
        },
      },
    });
    const { rt, wire } = node(new MemoryBackend(), [account, relay]);
    await rt.ref(relay, "r").ask({ pass: { to: "b", n: 3 } });
    await codeOf(rt.ref(relay, "r").ask({ pass: { to: "b", n: 5, fail: true } }));
    await settled(async () => (await balance(rt, "b")) === 3);
    await turns(20);
    expect(wire.carried).toBe(1);
    expect(await balance(rt, "b")).toBe(3);
    await rt.stop();
  });
});

describe("asks inside a turn", () => {
  let release = () => {};
  /** By name: a handler whose reply is its own type's ask would make ping's type refer to itself. */
  const Ping: ActorType = { type: "ping" };
  const ping = defineActor({
    type: "ping",
    initialState: () => ({}),
    evolve: (s) => s,
    messages: {
      /** Asks `to` to ask `back` for its name: A→B→A when back is the asker. */
      relay: {
        validate: (p: unknown) => p as { to: string; back: string },
        handle: async (_s, p, ctx) => ({ reply: await ctx.ref(Ping, p.to).ask({ call: { who: p.back } }) }),
      },
      call: {
        validate: (p: unknown) => p as { who: string },
        handle: async (_s, p, ctx) => ({ reply: await ctx.ref(Ping, p.who).ask({ name: {} }) }),
      },
      name: { validate: () => ({}), handle: (_s, _p, ctx) => ({ reply: ctx.id }) },
      self: { validate: () => ({}), handle: async (_s, _p, ctx) => ({ reply: await ctx.ref(Ping, ctx.id).ask({ name: {} }) }) },
      slow: {
        validate: () => ({}),
        handle: async () => {
          await new Promise<void>((r) => {
            release = r;
          });
          return { reply: "late" };
        },
      },
      wait: {
        validate: (p: unknown) => p as string,
        handle: async (_s, to, ctx) => ({ reply: await ctx.ref(Ping, to).ask({ slow: {} }, { timeout: 60_000 }) }),
      },
    },
  });

  it("answers through another actor (A→B→C), and fails A→B→A and A→A at once with CALL_CYCLE", async () => {
    const { rt } = node(new MemoryBackend(), [ping]);
    expect(await rt.ref(ping, "a").ask({ relay: { to: "b", back: "c" } })).toBe("c");
    const started = Date.now();
    const err = await rt
      .ref(ping, "a")
      .ask({ relay: { to: "b", back: "a" } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CALL_CYCLE", details: { chain: ["ping/a", "ping/b"] } });
    expect(await codeOf(rt.ref(ping, "x").ask({ self: {} }))).toBe("CALL_CYCLE");
    expect(Date.now() - started).toBeLessThan(1000);
    await rt.stop();
  });

  it("a reentrant in-memory type takes the call back at once, on its live state; the receiver refuses it for other types", async () => {
    const Loop: ActorType = { type: "loop" };
    const loop = defineInMemoryActor({
      type: "loop",
      reentrant: true,
      initialState: () => ({ calls: 0 }),
      serialize: (s) => s,
      deserialize: (d) => d as { calls: number },
      messages: {
        /** Asks `via` to call this actor back, then reads the state the call back changed. */
        start: {
          validate: (p: unknown) => p as { via: string },
          handle: async (s, p, ctx) => {
            const back = await ctx.ref(Loop, p.via).ask({ call: { who: ctx.id } });
            s.calls++;
            return { state: s, reply: { back, calls: s.calls } };
          },
        },
        name: {
          validate: () => ({}),
          handle: (s, _p, ctx) => {
            s.calls++;
            return { state: s, reply: ctx.id };
          },
        },
        call: {
          validate: (p: unknown) => p as { who: string },
          handle: async (s, p, ctx) => ({ state: s, reply: await ctx.ref(Loop, p.who).ask({ name: {} }) }),
        },
        self: { validate: () => ({}), handle: async (s, _p, ctx) => ({ state: s, reply: await ctx.ref(Loop, ctx.id).ask({ name: {} }) }) },
      },
    });
    const { rt } = node(new MemoryBackend(), [ping, loop]);
    // loop/l asks loop/m, whose turn asks loop/l back (name-only refs: the receiver decides).
    expect(await rt.ref(loop, "l").ask({ start: { via: "m" } })).toEqual({ back: "l", calls: 2 });
    expect(await rt.ref(loop, "l").ask({ self: {} })).toBe("l");
    // ping is not reentrant: the same chain into it is refused where it arrives.
    expect(await codeOf(rt.ref(ping, "q").ask({ relay: { to: "r", back: "q" } }))).toBe("CALL_CYCLE");
    expect(() =>
      defineActor({
        type: "bad",
        reentrant: true,
        initialState: () => 0,
        evolve: (s: number) => s,
        messages: { x: { validate: () => ({}), handle: () => ({ reply: 1 }) } },
      } as never),
    ).toThrow(/reentrant is for in-memory types/);
    await rt.stop();
  });

  it("caps an ask's timeout by what remains of the caller's", async () => {
    const { rt } = node(new MemoryBackend(), [ping]);
    const started = Date.now();
    expect(await codeOf(rt.ref(ping, "a").ask({ wait: "b" }, { timeout: 150 }))).toBe("TIMEOUT");
    expect(Date.now() - started).toBeLessThan(2000);
    // a's turn is over (its ask gave up with it): a answers again while b still works.
    expect(await rt.ref(ping, "a").ask({ name: {} }, { timeout: 1000 })).toBe("a");
    release();
    await rt.stop();
  });
});
