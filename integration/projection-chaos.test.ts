/**
 * Projections on real `shoal node` processes (issue 16, acceptance): the built-in
 * `account-balances` (4 partitions) follows 100,000 deposits on 3 nodes while one node is
 * SIGKILLed, one joins and one drains. Once caught up, its KV view equals the fold of the
 * journals read straight from the stream — no event missing, none applied twice — and the
 * partitions' applied counters add up to exactly the number of events.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { ShoalClient } from "../src/client.js";
import { inParallel } from "../src/in-parallel.js";
import type { BalanceRow } from "../src/projections/account-balances.js";
import { ProjectionView } from "../src/projection/view-reader.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { foldAccountJournals } from "./journal-fold.js";
import { waitFor } from "./kit/index.js";

const FAST = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"];
const EVENTS = 100_000;
const ACCOUNTS = 1000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe("account-balances under chaos", () => {
  it("equals the fold of 100k events after a SIGKILL, a join and a drain", async () => {
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("pj"), { shards: 64, args: FAST });
    cleanups.push(() => c.close());
    for (const id of ["p1", "p2", "p3"]) c.start(id);
    const [first] = await c.waitStable();
    const client = new ShoalClient(c.nc, c.name);
    const done = { n: 0 };
    const view = await ProjectionView.open<BalanceRow>(c.nc, c.name, "account-balances");
    // The node to kill, then to drain: one running partitions of the projection, not the leader
    // when another holds one.
    const holder = async (not: string[]) => {
      const owners = (await view.checkpoints()).map((cp) => cp?.owner);
      const holders = c.running().filter((n) => !not.includes(n.id) && owners.includes(n.id));
      const id = (holders.find((n) => n.id !== first!.leader) ?? holders[0])?.id;
      expect(id, `a running node holds a partition: ${owners}`).toBeDefined();
      return c.nodes.get(id!)!;
    };
    const killed: string[] = [];
    const steps: Array<{ at: number; run: () => Promise<unknown> }> = [
      { at: 0.3, run: async () => (await holder([])).kill().then(() => killed.push("kill")) },
      { at: 0.5, run: async () => c.start("p4") },
      { at: 0.7, run: async () => (await holder(["p4"])).stop().then(() => killed.push("drain")) },
    ];
    const chaos = (async () => {
      for (const s of steps) {
        await waitFor(() => done.n >= s.at * EVENTS, { timeout: 300_000, interval: 20 });
        await s.run();
      }
    })();
    // Every deposit is asked until it is answered (its txn makes a repeat harmless), so the
    // journal holds exactly one event per index.
    await inParallel(
      Array.from({ length: EVENTS }, (_, i) => i),
      256,
      async (i) => {
        const id = `acct-${i % ACCOUNTS}`;
        for (;;) {
          try {
            await client.ask("account", id, { deposit: { amount: 1 + (i % 97), txn: `t${i}` } }, { timeout: 10_000 });
            break;
          } catch {
            // a node died or moved the shard: ask again
          }
        }
        done.n++;
      },
    );
    await chaos;
    expect(killed).toEqual(["kill", "drain"]);
    const { rows, events } = await foldAccountJournals(c.nc, c.name);
    expect(events).toBe(EVENTS);
    expect(rows.size).toBe(ACCOUNTS);
    const behind = new Set(rows.keys());
    await waitFor(
      async () => {
        await inParallel([...behind], 64, async (id) => {
          if ((await view.get(id))?.value.version === rows.get(id)!.version) behind.delete(id);
        });
        return behind.size === 0;
      },
      { timeout: 120_000, interval: 500, message: "the view never caught up with the journal" },
    );
    const wrong: string[] = [];
    await inParallel([...rows.keys()], 64, async (id) => {
      const got = (await view.get(id))?.value;
      if (got?.balance !== rows.get(id)!.balance || got?.version !== rows.get(id)!.version)
        wrong.push(`${id}: ${JSON.stringify(got)} != ${JSON.stringify(rows.get(id))}`);
    });
    expect(wrong).toEqual([]);
    // Exactly once in the counters too: each event was counted by the one commit that covered it.
    const cps = await view.checkpoints();
    expect(cps.reduce((n, cp) => n + (cp?.applied ?? 0), 0)).toBe(EVENTS);
    console.log(`[projection] ${EVENTS} events, partitions ${JSON.stringify(cps.map((cp) => ({ owner: cp?.owner, applied: cp?.applied, epoch: cp?.epoch })))}`);
  }, 400_000);
});
