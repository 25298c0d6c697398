/**
 * The acceptance test of topic groups (issue 17, item 3) on real `shoal node` processes: while
 * publishers publish on four topics of two groups, the node that owns one group's broker is
 * SIGKILLed. Every subscriber must then apply every acknowledged publication of its topics, once
 * each, in its group's one order (the broker's journal), across the move of the broker and of
 * the subscribers that lived on the killed node.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ShoalClient } from "../src/client.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { noteTopic, topicSubscriber } from "./fixtures/topic-subscribers.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { waitFor } from "./kit/index.js";
import { openStore } from "./open-store.js";
import { applied, brokerOwner, groupOrder, noteKey, orderProblems } from "./topic-order.js";

const ACTORS = fileURLToPath(new URL("../dist/integration/fixtures/topic-subscribers.js", import.meta.url));
const SHARDS = 64;
const GROUPS = ["ga", "gb"];
const SUBSCRIBERS = 12;
const PUBLISHERS_PER_GROUP = 3;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Subscriber i's topics: every one of group ga's first topic and gb's second, the others for some. */
function topicsOf(i: number): Array<{ group: string; k: number }> {
  const t = [
    { group: "ga", k: 0 },
    { group: "gb", k: 1 },
  ];
  if (i % 2 === 0) t.push({ group: "ga", k: 1 });
  if (i % 3 !== 0) t.push({ group: "gb", k: 0 });
  return t;
}

describe("topic groups on node processes", () => {
  it("every subscriber applies every acknowledged publication once, in its group's one order, across a SIGKILL of the broker's node", async () => {
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("tk"), { shards: SHARDS, args: ["--actors", ACTORS] });
    cleanups.push(() => c.close());
    for (const id of ["p1", "p2", "p3"]) c.start(id);
    await c.waitStable();
    const client = new ShoalClient(c.nc, c.name, { timeout: 5000 });
    cleanups.push(() => client.close());
    const store = await openStore({ nc: c.nc, cluster: c.name, create: false });
    cleanups.push(() => store.close());

    const subs = Array.from({ length: SUBSCRIBERS }, (_, i) => `s${i}`);
    await Promise.all(subs.map((id, i) => client.ref(topicSubscriber, id).send({ join: { topics: topicsOf(i) } })));
    const want = new Map<string, number>();
    subs.forEach((_, i) => {
      for (const t of topicsOf(i)) want.set(`${t.group}.t${t.k}`, (want.get(`${t.group}.t${t.k}`) ?? 0) + 1);
    });
    await waitFor(
      async () => {
        for (const [name, n] of want) {
          const [group, k] = name.split(".t") as [string, string];
          if ((await client.topics.subscribers(noteTopic(group, Number(k)))).length !== n) return false;
        }
        return true;
      },
      { timeout: 15_000, message: "subscriptions did not all reach their brokers" },
    );

    // Publishers: each publishes its own numbers, one at a time, alternating the group's two topics.
    const acked = new Set<string>();
    /** When each of ga's publications was acknowledged: the longest gap is what the failover cost its publishers. */
    const gaAcks: number[] = [];
    const failed: string[] = [];
    let running = true;
    const publisher = async (group: string, by: string) => {
      for (let n = 1; running; n++) {
        const note = { g: group, by, n };
        try {
          await client.topics.publish(noteTopic(group, n % 2), note);
          acked.add(noteKey(note));
          if (group === "ga") gaAcks.push(Date.now());
        } catch (err) {
          if (!ShoalError.is(err) || ![ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE, ErrorCode.ACTOR_MOVED, ErrorCode.OVERLOADED].includes(err.code as never))
            throw err;
          failed.push(`${noteKey(note)} ${err.code}`);
          // OVERLOADED: the group's subscribers are 10,000 deliveries behind; a publisher backs off.
          if (err.code === ErrorCode.OVERLOADED) await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const publishing = GROUPS.flatMap((g) => Array.from({ length: PUBLISHERS_PER_GROUP }, (_, k) => publisher(g, `${g}-p${k}`)));

    await waitFor(() => acked.size >= 300, { timeout: 20_000, message: "publications are not acknowledged" });
    const victim = (await brokerOwner(c.nc, c.name, "ga"))!;
    expect(victim).toMatch(/^p[123]$/);
    const inGa = () => [...acked].filter((k) => k.startsWith("ga/")).length;
    const atKill = inGa();
    await c.nodes.get(victim)!.kill();
    // Publishing goes on through the failover, until ga's new owner has acknowledged plenty.
    await waitFor(() => inGa() >= atKill + 300, { timeout: 30_000, message: `publishing to ga did not resume after ${victim} was killed` });
    running = false;
    await Promise.all(publishing);
    const newOwner = await brokerOwner(c.nc, c.name, "ga");
    expect(newOwner).not.toBe(victim);

    // A last publication on every topic: a subscriber that applied it has had every earlier one
    // of its group acknowledged (one delivery in flight per receiver, in the group's order).
    // The publishers may have left a backlog at the outbox's bound (OVERLOADED): these wait for room.
    const deadline = Date.now() + 60_000;
    for (const g of GROUPS) {
      for (const k of [0, 1]) {
        for (;;) {
          try {
            await client.topics.publish(noteTopic(g, k), { g, by: `end-t${k}`, n: 0 });
            break;
          } catch (err) {
            if (!ShoalError.is(err, ErrorCode.OVERLOADED) || Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 250)); // back off while the subscribers catch up
          }
        }
      }
    }
    await waitFor(
      async () => {
        const done = await Promise.all(
          subs.map(async (id, i) => {
            const got = new Set(await applied(store, "topic-sub", id));
            return topicsOf(i).every((t) => got.has(`${t.group}/end-t${t.k}:0`));
          }),
        );
        return done.every(Boolean);
      },
      // Up to the outbox's bound (10,000 deliveries) may be waiting, applied at ~300/s on two busy cores.
      { timeout: 90_000, interval: 250, message: "subscribers did not receive the last publications" },
    );
    const orders = new Map(await Promise.all(GROUPS.map(async (g) => [g, await groupOrder(store, g)] as const)));
    const stored = new Set([...orders.values()].flatMap((o) => o.map((p) => p.key)));
    expect(
      [...acked].filter((k) => !stored.has(k)),
      "acknowledged publications missing from their group's journal",
    ).toEqual([]);
    const problems: string[] = [];
    for (const [i, id] of subs.entries()) {
      problems.push(...orderProblems(id, await applied(store, "topic-sub", id), orders, new Set(topicsOf(i).map((t) => `${t.group}.t${t.k}`))));
    }
    expect(problems).toEqual([]);
    const gap = Math.max(...gaAcks.slice(1).map((t, i) => t - gaAcks[i]!));
    console.log(
      `topics-kill: killed ${victim} (ga's broker, now on ${newOwner}); longest pause of ga's acknowledgements ${gap} ms; ` +
        `${acked.size} acknowledged, ${failed.length} failed or unknown (${failed.filter((f) => f.endsWith("OVERLOADED")).length} OVERLOADED), ` +
        `journals ${[...orders].map(([g, o]) => `${g}=${o.length}`).join(" ")}`,
    );
  }, 240_000);
});
