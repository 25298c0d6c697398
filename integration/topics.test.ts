/**
 * Topic groups on in-process nodes over a real nats-server: publications from outside
 * (`node.topics.publish`) and from turns (`ctx.topics.publish`, through the publisher's outbox)
 * while the node owning a group's broker drains (a live handoff of the broker, its undelivered
 * messages with it) and a node joins. Every subscriber applies every publication of its topics
 * once, in its group's journal order; every acknowledged publication is in that journal, once.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ShoalNode } from "../cluster/node.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import type { JetStreamEventStore } from "../src/store/jetstream.js";
import { noteTopic, topicSubscriber } from "./fixtures/topic-subscribers.js";
import { uniqueCluster } from "./cluster-helpers.js";
import { waitFor, waitSettled } from "./kit/index.js";
import { openStore } from "./open-store.js";
import { applied, brokerOwner, groupOrder, orderProblems } from "./topic-order.js";

const SHARDS = 16;
const GROUPS = ["ga", "gb"];
const cluster = uniqueCluster("topics");
const conns: NatsConnection[] = [];
const nodes = new Map<string, ShoalNode>();
let store: JetStreamEventStore | undefined;

async function start(nodeId: string): Promise<ShoalNode> {
  const nc = await connect({ servers: inject("natsUrl") });
  conns.push(nc);
  const node = await ShoalNode.start({ nc, cluster, nodeId, actors: [topicSubscriber], shardCount: SHARDS, rebalanceDebounce: 50 });
  nodes.set(nodeId, node);
  return node;
}

afterAll(async () => {
  await store?.close();
  for (const n of nodes.values()) await n.stop();
  await Promise.all(conns.map((nc) => nc.close()));
});

const topicsOf = (i: number) => [{ group: "ga", k: i % 2 }, { group: "gb", k: 0 }, ...(i % 3 === 0 ? [{ group: "gb", k: 1 }] : [])];
const names = (i: number) => new Set(topicsOf(i).map((t) => `${t.group}.t${t.k}`));

describe("topic groups across a drain and a join", () => {
  it("keeps one order per group, every publication once, while the broker's node drains and a node joins", async () => {
    for (const id of ["n1", "n2", "n3"]) await start(id);
    await waitSettled(conns[0]!, cluster, ["n1", "n2", "n3"], SHARDS, 30_000);
    store = await openStore({ nc: conns[0]!, cluster, create: false });
    const victim = (await brokerOwner(conns[0]!, cluster, "ga"))!;
    const via = [...nodes.values()].find((n) => n.nodeId !== victim)!;

    const subs = Array.from({ length: 9 }, (_, i) => `s${i}`);
    await Promise.all(subs.map((id, i) => via.ref(topicSubscriber, id).send({ join: { topics: topicsOf(i) } })));
    await waitFor(
      async () =>
        (await via.topics.subscribers(noteTopic("ga", 0))).length + (await via.topics.subscribers(noteTopic("ga", 1))).length === 9 &&
        (await via.topics.subscribers(noteTopic("gb", 0))).length === 9 &&
        (await via.topics.subscribers(noteTopic("gb", 1))).length === 3,
      { timeout: 15_000, message: "subscriptions did not reach their brokers" },
    );

    // Two kinds of publishers per group: outside (node.topics) and actors publishing from a turn.
    const acked = new Set<string>();
    let running = true;
    const loop = async (group: string, by: string, one: (n: number) => Promise<void>) => {
      for (let n = 1; running; n++) {
        try {
          await one(n);
          acked.add(`${group}/${by}:${n}`);
        } catch (err) {
          if (!ShoalError.is(err) || ![ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE, ErrorCode.OVERLOADED].includes(err.code as never)) throw err;
          // OVERLOADED: the group's subscribers are 10,000 deliveries behind; a publisher backs off.
          if (err.code === ErrorCode.OVERLOADED) await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const publishing = GROUPS.flatMap((g) => [
      loop(g, `${g}-out`, (n) => via.topics.publish(noteTopic(g, n % 2), { g, by: `${g}-out`, n }, { timeout: 5000 })),
      loop(g, `${g}-talker`, (n) => via.ref(topicSubscriber, `${g}-talker`).send({ say: { group: g, k: n % 2, n } }, { timeout: 5000 })),
    ]);

    const inGa = () => [...acked].filter((k) => k.startsWith("ga/")).length;
    await waitFor(() => inGa() >= 100, { timeout: 20_000, message: "publications are not acknowledged" });
    expect(await nodes.get(victim)!.drain(20_000)).toBe(true);
    let mark = inGa();
    await waitFor(() => inGa() >= mark + 100, { timeout: 20_000, message: "publishing to ga did not go on after the drain" });
    await start("n4");
    await waitSettled(
      conns[0]!,
      cluster,
      [...nodes.keys()].filter((id) => id !== victim),
      SHARDS,
      30_000,
    );
    mark = inGa();
    await waitFor(() => inGa() >= mark + 100, { timeout: 20_000, message: "publishing to ga did not go on after the join" });
    running = false;
    await Promise.all(publishing);
    expect(await brokerOwner(conns[0]!, cluster, "ga")).not.toBe(victim);

    // An acknowledged `say` reaches its broker through the talker's outbox, after the answer.
    const stored = async () => new Set((await Promise.all(GROUPS.map((g) => groupOrder(store!, g)))).flatMap((o) => o.map((p) => p.key)));
    let missing: string[] = [];
    await waitFor(
      async () => {
        const have = await stored();
        missing = [...acked].filter((k) => !have.has(k));
        return missing.length === 0;
      },
      { timeout: 15_000, interval: 250, message: "acknowledged publications missing from their group's journal" },
    ).catch(() => undefined);
    expect(missing, "acknowledged publications missing from their group's journal").toEqual([]);

    // A last publication on every topic: applied, it means every earlier one was acknowledged.
    for (const g of GROUPS) for (const k of [0, 1]) await via.topics.publish(noteTopic(g, k), { g, by: `end-t${k}`, n: 0 });
    await waitFor(
      async () =>
        (
          await Promise.all(
            subs.map(async (id, i) => {
              const got = new Set(await applied(store!, "topic-sub", id));
              return topicsOf(i).every((t) => got.has(`${t.group}/end-t${t.k}:0`));
            }),
          )
        ).every(Boolean),
      { timeout: 30_000, interval: 250, message: "subscribers did not receive the last publications" },
    );

    const orders = new Map(await Promise.all(GROUPS.map(async (g) => [g, await groupOrder(store!, g)] as const)));
    for (const [g, o] of orders) {
      const keys = o.map((p) => p.key);
      expect(keys.length - new Set(keys).size, `publications stored twice in ${g}'s journal`).toBe(0);
    }
    const problems: string[] = [];
    for (const [i, id] of subs.entries()) problems.push(...orderProblems(id, await applied(store!, "topic-sub", id), orders, names(i)));
    expect(problems).toEqual([]);
    console.log(`topics: drained ${victim} (ga's broker); ${acked.size} acknowledged; journals ${[...orders].map(([g, o]) => `${g}=${o.length}`).join(" ")}`);
  });
});
