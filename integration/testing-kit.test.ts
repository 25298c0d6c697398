import { describe, expect, inject, it } from "vitest";
import { actorType } from "../src/actor/calls.js";
import { defineActor } from "../src/actor/define.js";
import { account } from "../src/actors/account.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { startTestCluster } from "../testing/index.js";

/** A user's actor as the kit would see it: a message map, event-sourced. */
const counter = defineActor({
  type: "counter",
  initialState: () => ({ n: 0 }),
  messages: {
    add: { validate: (by: unknown) => Number(by), handle: (s, by) => ({ events: [by], reply: s.n + by }) },
    get: { validate: () => ({}), handle: (s, _p, ctx) => ({ reply: { n: s.n, node: ctx.node } }) },
  },
  evolve: (s, by: number) => ({ n: s.n + by }),
});

describe("shoal/testing: a real cluster for a user's tests", () => {
  it("starts N nodes hosting the user's actors; the same typed refs work from the client and from every node", async () => {
    await using cluster = await startTestCluster({ actors: [counter, account], nodes: 2, natsUrl: inject("natsUrl") });
    expect(cluster.nodes.map((n) => n.nodeId)).toEqual(["node-1", "node-2"]);
    const ids = Array.from({ length: 20 }, (_, i) => `c-${i}`);
    for (const id of ids) expect(await cluster.ref(counter, id).ask({ add: 2 })).toBe(2);
    for (const node of cluster.nodes) {
      for (const id of ids) await node.ref(counter, id).send({ add: 1 });
    }
    const served = new Set<string>();
    for (const id of ids) {
      const r = await cluster.ref(counter, id).ask({ get: {} });
      expect(r.n).toBe(4);
      served.add(r.node);
    }
    expect(served).toEqual(new Set(["node-1", "node-2"])); // both nodes own some of the 20
    cluster.nodes[0]!.ref(counter, "told").tell({ add: 7 });
    await expect
      .poll(() =>
        cluster
          .ref(counter, "told")
          .ask({ get: {} })
          .then((r) => r.n),
      )
      .toBe(7);
  });

  it("moves actors live when a node joins and another drains, and answers with the same state", async () => {
    await using cluster = await startTestCluster({ actors: [account], nodes: 2, natsUrl: inject("natsUrl") });
    const ids = Array.from({ length: 30 }, (_, i) => `acct-${i}`);
    for (const id of ids) await cluster.ref(account, id).ask({ deposit: { amount: 10, txn: "first" } });
    await cluster.addNode();
    expect(cluster.nodes).toHaveLength(3);
    await cluster.drainNode("node-1");
    expect(cluster.nodes.map((n) => n.nodeId)).toEqual(["node-2", "node-3"]);
    for (const id of ids) {
      const r = await cluster.ref(account, id).ask({ deposit: { amount: 10, txn: "first" } });
      expect(r).toMatchObject({ balance: 10, applied: false }); // applied once, across both moves
      expect(["node-2", "node-3"]).toContain(r.node);
    }
  });

  it("starts and stops a nats-server of its own when given none", async () => {
    const saved = process.env.NATS_URL;
    delete process.env.NATS_URL;
    let url: string;
    try {
      await using cluster = await startTestCluster({ actors: [counter], nodes: 1 });
      url = cluster.url;
      expect(url).not.toBe(inject("natsUrl"));
      expect(await cluster.ref(counter, "solo").ask({ add: 1 })).toBe(1);
    } finally {
      if (saved !== undefined) process.env.NATS_URL = saved;
    }
    // Disposed: the server is gone, so nothing answers on its port.
    const port = Number(new URL(url.replace("nats://", "http://")).port);
    const { createConnection } = await import("node:net");
    const refused = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: "127.0.0.1" }, () => {
        s.destroy();
        resolve(false);
      });
      s.on("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it("reports a type no node hosts with a typed error that says so", async () => {
    await using cluster = await startTestCluster({ actors: [counter], nodes: 1, natsUrl: inject("natsUrl") });
    const err = await cluster
      .ref(actorType("ghost"), "x")
      .ask({})
      .catch((e: unknown) => e);
    expect(ShoalError.is(err, ErrorCode.UNKNOWN_ACTOR_TYPE)).toBe(true);
    expect((err as Error).message).toMatch(/no node of the cluster hosts actor type "ghost"/);
  });
});
