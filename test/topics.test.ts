/**
 * Topic groups in one process: subscriptions from a turn, publications from a turn and from
 * outside, delivery in the group's journal order, the bounds, a broker reloaded from its journal,
 * and a subscriber that keeps failing.
 */
import { describe, expect, it } from "vitest";
import { defineActor } from "../src/actor/define.js";
import type { ActorDefinition } from "../src/actor/spec.js";
import { ManualClock } from "../src/clock.js";
import { InternalError, UnavailableError } from "../src/errors.js";
import type { Caller, DeliveryOptions } from "../src/ref.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryBackend, MemoryEventStore } from "../src/store/memory.js";
import { TOPIC_BROKER, TOPIC_LIMITS } from "../src/topics/protocol.js";
import { codeOf } from "./support/outcomes.js";
import { listener, tickTopic } from "./support/topic-listener.js";
import { settled } from "./support/settled.js";
import { turns } from "./support/turns.js";

/** A caller in front of `rt` that can refuse or duplicate the messages between actors it carries. */
class Wire implements Caller {
  mode: "pass" | "refuse" | "twice" = "pass";
  constructor(private readonly rt: Runtime) {}
  ask(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<unknown> {
    return this.rt.ask(type, id, msg, opts);
  }
  async send(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void> {
    if (this.mode === "refuse") throw new UnavailableError("the link is down");
    if (this.mode === "twice") await Promise.all([this.rt.send(type, id, msg, opts), this.rt.send(type, id, msg, opts)]);
    else await this.rt.send(type, id, msg, opts);
  }
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void> {
    return this.rt.tell(type, id, msg, opts);
  }
}

const runtime = (backend = new MemoryBackend(), actors: readonly ActorDefinition[] = [listener], clock?: ManualClock) =>
  new Runtime({ nodeId: "n", store: new MemoryEventStore({ backend }), actors, passivationInterval: 60_000, clock });

const seen = async (rt: Runtime, id: string) => (await rt.ref(listener, id).ask({ seen: {} })).map((t) => `${t.by}:${t.n}`);

describe("topics in one runtime", () => {
  it("delivers every publication after a subscription, in the group's order, to each subscriber once", async () => {
    const rt = runtime();
    const a = tickTopic("a", "g");
    const b = tickTopic("b", "g");
    await rt.ref(listener, "x").send({ join: { name: "a", group: "g" } });
    await rt.ref(listener, "y").send({ join: { name: "a", group: "g" } });
    await rt.ref(listener, "y").send({ join: { name: "b", group: "g" } });
    await settled(async () => (await rt.topics.subscribers(a)).length === 2 && (await rt.topics.subscribers(b)).length === 1);
    expect(await rt.topics.subscribers(a)).toEqual([
      { type: "listener", id: "x", as: "got" },
      { type: "listener", id: "y", as: "got" },
    ]);
    const sent: Promise<void>[] = [];
    for (let n = 1; n <= 20; n++) sent.push(rt.topics.publish(n % 2 === 0 ? a : b, { n, by: "out" }));
    await Promise.all(sent);
    await settled(async () => (await seen(rt, "y")).length === 20);
    expect(await seen(rt, "y")).toEqual(Array.from({ length: 20 }, (_, i) => `out:${i + 1}`));
    expect(await seen(rt, "x")).toEqual(Array.from({ length: 10 }, (_, i) => `out:${2 * (i + 1)}`));
    // Hidden from the runtime's types, hosted all the same.
    expect(rt.types).toEqual(["listener"]);
    expect(rt.hosts(TOPIC_BROKER)).toBe(true);
    await rt.stop();
  });

  it("publishes from a turn, and a subscriber receives its own publications after its subscription", async () => {
    const rt = runtime();
    await rt.ref(listener, "p").send({ join: { name: "t" } });
    for (let n = 1; n <= 5; n++) await rt.ref(listener, "p").send({ say: { name: "t", n } });
    await settled(async () => (await seen(rt, "p")).length === 5);
    expect(await seen(rt, "p")).toEqual(["p:1", "p:2", "p:3", "p:4", "p:5"]);
    await rt.ref(listener, "p").send({ leave: { name: "t" } });
    await rt.ref(listener, "p").send({ say: { name: "t", n: 6 } });
    await settled(async () => (await rt.topics.subscribers(tickTopic("t"))).length === 0);
    await turns(30);
    expect((await seen(rt, "p")).length).toBe(5);
    await rt.stop();
  });

  it("refuses what does not fit: the topic's validate, the size and depth limits (BAD_REQUEST), a full topic (REJECTED)", async () => {
    const rt = runtime();
    const t = tickTopic("t");
    expect(await codeOf(rt.topics.publish(t, { n: 1 } as never))).toBe("BAD_REQUEST");
    expect(await codeOf(rt.topics.publish(t, { n: 1, by: "x".repeat(TOPIC_LIMITS.maxMessageBytes) }))).toBe("BAD_REQUEST");
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(await codeOf(rt.send(TOPIC_BROKER, "t", { publish: { topic: "t", msg: deep } }))).toBe("BAD_REQUEST");
    expect(await codeOf(rt.send(TOPIC_BROKER, "t", { publish: { topic: "", msg: 1 } }))).toBe("BAD_REQUEST");
    expect(await codeOf(rt.send(TOPIC_BROKER, "t", { publish: { topic: "t", msg: 1, extra: 1 } }))).toBe("BAD_REQUEST");
    expect(await codeOf(rt.send(TOPIC_BROKER, "t", { subscribe: { topic: "t", type: "no such", id: "x" } }))).toBe("BAD_REQUEST");
    const sub = (i: number) => rt.send(TOPIC_BROKER, "full", { subscribe: { topic: "t", type: "listener", id: `s${i}` } });
    for (let i = 0; i < TOPIC_LIMITS.maxSubscribersPerTopic; i++) await sub(i);
    expect(await codeOf(sub(-1))).toBe("REJECTED");
    expect(await codeOf(rt.ref(listener, "x").send({ say: { name: "t", n: 1.5 } }))).toBe("BAD_REQUEST"); // in the turn: nothing stored
    await rt.stop();
  });

  it("delivers one frozen object to the subscribers on a node: none can change what the others receive", async () => {
    let received: unknown[] = [];
    const keeper = defineActor({
      type: "keeper",
      initialState: () => 0,
      evolve: (s: number) => s + 1,
      validate: (x: unknown) => x as { got: { n: number } },
      handle: (_s, m, ctx) => {
        if ("got" in m) {
          received.push(m.got);
          return { events: [1], reply: null };
        }
        ctx.topics.subscribe(tickTopic("t"), "got");
        return { events: [1], reply: null };
      },
    });
    const rt = runtime(new MemoryBackend(), [keeper]);
    for (const id of ["k1", "k2"]) await rt.ref(keeper, id).send({ join: {} } as never);
    await settled(async () => (await rt.topics.subscribers(tickTopic("t"))).length === 2);
    await rt.topics.publish(tickTopic("t"), { n: 1, by: "o" });
    await settled(async () => received.length === 2);
    expect(received[0]).toBe(received[1]);
    expect(Object.isFrozen(received[0])).toBe(true);
    expect(() => {
      (received[0] as { n: number }).n = 2;
    }).toThrow(TypeError);
    received = [];
    await rt.stop();
  });

  it("a broker loaded again (a crash) sends what it had not delivered; receivers apply each publication once", async () => {
    const backend = new MemoryBackend();
    const first = runtime(backend);
    const wire = new Wire(first);
    first.connect(wire);
    await first.ref(listener, "x").send({ join: { name: "t" } });
    await settled(async () => (await first.topics.subscribers(tickTopic("t"))).length === 1);
    wire.mode = "twice"; // every delivery arrives twice
    for (let n = 1; n <= 5; n++) await first.topics.publish(tickTopic("t"), { n, by: "o" });
    await settled(async () => (await seen(first, "x")).length === 5);
    wire.mode = "refuse"; // the link is down, then the node "crashes"
    for (let n = 6; n <= 10; n++) await first.topics.publish(tickTopic("t"), { n, by: "o" });
    await first.stop();
    const second = runtime(backend);
    await second.topics.publish(tickTopic("t"), { n: 11, by: "o" }); // loads the broker: it sends again what is unacknowledged
    await settled(async () => (await seen(second, "x")).length === 11);
    await turns(50);
    expect(await seen(second, "x")).toEqual(Array.from({ length: 11 }, (_, i) => `o:${i + 1}`));
    await second.stop();
  });

  it("drops a subscriber whose deliveries keep failing, abandons its backlog, and goes on with the others", async () => {
    const clock = new ManualClock();
    let failing = true;
    const flaky = defineActor({
      type: "flaky",
      initialState: () => 0,
      evolve: (s: number) => s + 1,
      messages: {
        got: {
          validate: (x: unknown) => x,
          handle: () => {
            if (failing) throw new InternalError("broken");
            return { events: [1], reply: null };
          },
        },
        join: {
          validate: () => ({}),
          handle: (_s, _p, ctx) => {
            ctx.topics.subscribe(tickTopic("t"), "got");
            return { events: [1], reply: null };
          },
        },
      },
    });
    const backend = new MemoryBackend();
    const rt = runtime(backend, [listener, flaky], clock);
    const t = tickTopic("t");
    await rt.ref(listener, "ok").send({ join: { name: "t" } });
    await rt.ref(flaky, "bad").send({ join: {} });
    await settled(async () => (await rt.topics.subscribers(t)).length === 2);
    await rt.topics.publish(t, { n: 1, by: "o" });
    // Failing for a few seconds (a failover's worth) is no fault: it stays subscribed.
    for (let i = 0; i < 4; i++) {
      clock.advance(2500);
      await turns(5);
    }
    await rt.topics.publish(t, { n: 2, by: "o" });
    expect((await rt.topics.subscribers(t)).length).toBe(2);
    // The outbox retries the flaky one (50 ms doubling to 5 s): a minute and more of failures.
    for (let i = 0; i < 40; i++) {
      clock.advance(5000);
      await turns(5);
    }
    expect(await seen(rt, "ok")).toEqual(["o:1", "o:2"]);
    await rt.topics.publish(t, { n: 3, by: "o" });
    expect(await rt.topics.subscribers(t)).toEqual([{ type: "listener", id: "ok", as: "got" }]);
    const journal = (await new MemoryEventStore({ backend }).read({ type: TOPIC_BROKER, id: "t" })).map((e) => e.event);
    expect(journal.at(-2)).toEqual({ unsubscribed: { topic: "t", type: "flaky", id: "bad", fault: { code: "INTERNAL", attempts: expect.any(Number) } } });
    // Its backlog is abandoned: healed, it receives nothing more, and a reload sends it nothing either.
    failing = false;
    for (let i = 0; i < 3; i++) {
      clock.advance(5000);
      await turns(5);
    }
    expect(await rt.ref(flaky, "bad").ask({ got: "direct" } as never)).toBe(null);
    await settled(async () => (await seen(rt, "ok")).length === 3);
    await rt.stop();
    const again = runtime(backend, [listener, flaky], clock);
    await again.topics.publish(t, { n: 4, by: "o" });
    await settled(async () => (await seen(again, "ok")).length === 4);
    expect(await new MemoryEventStore({ backend }).version({ type: "flaky", id: "bad" })).toBe(2); // join + the direct one
    await again.stop();
  });
});
