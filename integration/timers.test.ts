/** A timer survives a live handoff (issue 15's acceptance): periodic ticks go on at each actor's new owner. */
import { describe, expect, inject, it } from "vitest";
import { defineActor } from "../src/actor/define.js";
import { startTestCluster } from "../testing/index.js";

/** Event-sourced: each tick of its periodic timer is an event naming the node that ran it. */
const metronome = defineActor({
  type: "metronome",
  initialState: () => ({ ticks: [] as string[] }),
  evolve: (s, e: { on: string }) => ({ ticks: [...s.ticks, e.on] }),
  messages: {
    arm: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.timers.start("beat", { every: 50 }, { beat: {} });
        return { reply: null };
      },
    },
    beat: { validate: () => ({}), handle: (_s, _p, ctx) => ({ events: [{ on: ctx.node }], reply: null }) },
    read: { validate: () => ({}), handle: (s, _p, ctx) => ({ reply: { ticks: s.ticks, node: ctx.node, beating: ctx.timers.isSet("beat") } }) },
  },
});

describe("timers on a real cluster", () => {
  it("a periodic timer keeps firing on the new owner after a node joins and another drains", async () => {
    await using cluster = await startTestCluster({ actors: [metronome], nodes: 2, natsUrl: inject("natsUrl") });
    const ids = Array.from({ length: 12 }, (_, i) => `m-${i}`);
    const read = (id: string) => cluster.ref(metronome, id).ask({ read: {} });
    for (const id of ids) await cluster.ref(metronome, id).send({ arm: {} });
    for (const id of ids) await expect.poll(async () => (await read(id)).ticks.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);

    await cluster.addNode();
    await cluster.drainNode("node-1");
    await cluster.settled();

    const before = new Map<string, number>();
    for (const id of ids) before.set(id, (await read(id)).ticks.length);
    // Every actor ticks on: its timer came along (nothing here starts it again), and the latest ticks ran on its owner.
    for (const id of ids) {
      await expect
        .poll(
          async () => {
            const r = await read(id);
            return r.ticks.length >= before.get(id)! + 3 && r.ticks.at(-1) === r.node && r.beating;
          },
          { timeout: 10_000 },
        )
        .toBe(true);
    }
    const moved = await Promise.all(ids.map(async (id) => new Set((await read(id)).ticks).size > 1));
    expect(moved.filter(Boolean).length).toBeGreaterThan(0); // some actors ticked on two nodes: they moved while ticking
    for (const id of ids) expect((await read(id)).node).not.toBe("node-1");
  });
});
