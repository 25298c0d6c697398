/** Timers across a live migration: captured with what remains of their delay, re-armed on the destination. */
import { describe, expect, it } from "vitest";
import type { ShardMap } from "../cluster/placement.js";
import type { Transport } from "../cluster/transport.js";
import type { HandoffBatch, RpcRequest } from "../cluster/wire.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { directTransport, idleTransport, mapOf, migrationNode } from "./support/migration-pair.js";
import { turns } from "./support/turns.js";

const activated: string[] = [];

/** Counts beats of a periodic timer and rings once, on the node it runs on; its onActivate is recorded. */
const clockwork = defineInMemoryActor({
  type: "clockwork",
  initialState: () => ({ beats: [] as string[], rang: "" }),
  messages: {
    arm: {
      validate: () => ({}),
      handle: (s, _p, ctx) => {
        ctx.timers.start("beat", { every: 100 }, { beat: {} });
        ctx.timers.start("alarm", 1000, { ring: {} });
        return { state: s, reply: null };
      },
    },
    beat: { validate: () => ({}), handle: (s, _p, ctx) => ({ state: { ...s, beats: [...s.beats, ctx.node] }, reply: null }) },
    ring: { validate: () => ({}), handle: (s, _p, ctx) => ({ state: { ...s, rang: ctx.node }, reply: null }) },
    read: { validate: () => ({}), handle: (s) => ({ state: s, reply: s }) },
  },
  onActivate(_s, ctx) {
    activated.push(ctx.node);
  },
  serialize: (s) => s,
  deserialize: (d) => d as { beats: string[]; rang: string },
});

const map = mapOf;

/** A node of the pair, with `advance(ms)`: its clock moved in 10 ms steps, turns run between them. */
function node(id: string, transport: Transport, current: () => ShardMap) {
  const n = migrationNode(id, [clockwork], transport, current);
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i += 10) {
      n.clock.advance(Math.min(10, ms - i));
      await turns(3);
    }
  };
  return { ...n, advance };
}

describe("migration: timers", () => {
  it("a timer started on the source fires on the destination, after what remained of its delay; periodic ones go on", async () => {
    activated.length = 0;
    const requests: RpcRequest[] = [];
    let destination!: ReturnType<typeof node>;
    const transport = directTransport(() => destination, requests);
    const source = node("A", transport, () => map(1, "A"));
    destination = node("B", transport, () => map(2, "B"));
    const here = source.runtime.ref(clockwork, "s1-x");
    await here.ask({ arm: {} });
    await source.advance(450); // four beats here; the alarm has 550 ms left
    expect((await here.ask({ read: {} })).beats).toEqual(["A", "A", "A", "A"]);

    destination.migrations.onMap(map(1, "A"), map(2, "B"));
    source.migrations.onMap(map(1, "A"), map(2, "B"));
    await source.migrations.whenIdle();
    await turns();
    const handoff = requests.find((r): r is HandoffBatch => r.k === "handoff" && r.shard === 1);
    expect(handoff?.actors[0]?.timers).toEqual([
      { name: "beat", in: 50, every: 100, msg: { beat: {} } },
      { name: "alarm", in: 550, msg: { ring: {} } },
    ]);
    expect(source.runtime.isActive("clockwork", "s1-x")).toBe(false);
    await source.advance(5000); // the source's timers are gone with its activation: nothing runs there
    expect(source.runtime.isActive("clockwork", "s1-x")).toBe(false);

    const there = destination.runtime.ref(clockwork, "s1-x");
    await destination.advance(50);
    expect((await there.ask({ read: {} })).beats).toEqual(["A", "A", "A", "A", "B"]);
    await destination.advance(490);
    expect((await there.ask({ read: {} })).rang).toBe("");
    await destination.advance(20);
    const after = await there.ask({ read: {} });
    expect(after.rang).toBe("B");
    expect(after.beats.length).toBeGreaterThanOrEqual(9);
    expect(activated).toEqual(["A"]); // onActivate does not run for an actor handed over
    await source.runtime.stop();
    await destination.runtime.stop();
  });

  it("a firing due while the shard is paused moves as due now, and is not forwarded as a tail message too", async () => {
    const transport = idleTransport;
    const source = node("A", transport, () => map(1, "A"));
    const here = source.runtime.ref(clockwork, "s1-y");
    await here.ask({ arm: {} });
    // Pause the shard as a move does, and let both timers come due meanwhile.
    const group = source.runtime.holdPartition(1);
    await group.ready;
    await source.advance(1000);
    const [captured] = group.capture();
    expect(captured?.timers).toEqual([
      { name: "beat", in: 0, every: 100, msg: { beat: {} } },
      { name: "alarm", in: 0, msg: { ring: {} } },
    ]);
    expect(group.release()).toEqual([]); // no timer message waits to be forwarded
    await source.runtime.stop();
  });

  it("a pause that ends here fires what came due meanwhile, once", async () => {
    const transport = idleTransport;
    const source = node("A", transport, () => map(1, "A"));
    const here = source.runtime.ref(clockwork, "s1-z");
    await here.ask({ arm: {} });
    const group = source.runtime.holdPartition(1);
    await group.ready;
    await source.advance(1000);
    group.resume();
    await turns();
    const s = await here.ask({ read: {} });
    expect([s.beats, s.rang]).toEqual([["A"], "A"]);
    await source.runtime.stop();
  });

  it("a handed-over timer due while the destination still holds the shard waits for the hold to end", async () => {
    const transport = idleTransport;
    const dest = node("B", transport, () => map(2, "B"));
    const hold = dest.runtime.holdPartition(1); // awaiting the source's tail
    await hold.ready;
    const state = { beats: ["A"], rang: "" };
    dest.runtime.adopt("clockwork", "s1-w", 1, state, undefined, [{ name: "alarm", in: 0, msg: { ring: {} } }]);
    await dest.advance(100);
    expect(hold.capture()).toEqual([expect.objectContaining({ state, timers: [{ name: "alarm", in: 0, msg: { ring: {} } }] })]);
    hold.resume();
    await turns();
    expect((await dest.runtime.ref(clockwork, "s1-w").ask({ read: {} })).rang).toBe("B");
    await dest.runtime.stop();
  });
});
