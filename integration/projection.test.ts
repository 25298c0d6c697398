/**
 * Projections in one process (issue 16): three nodes run `account-balances` in 4 partitions
 * while accounts take deposits and withdrawals; the KV view must equal the fold of each journal.
 */
import { connect } from "@nats-io/transport-node";
import { describe, expect, inject, it } from "vitest";
import { defineActor } from "../src/actor/define.js";
import { type AccountEvent, account } from "../src/actors/account.js";
import { startRebuild } from "../src/projection/admin.js";
import { ProjectionBucket } from "../src/projection/bucket.js";
import { defineProjection } from "../src/projection/define.js";
import { accountBalances, type BalanceRow } from "../src/projections/account-balances.js";
import { ProjectionView } from "../src/projection/view-reader.js";
import { startTestCluster } from "../testing/index.js";
import { waitFor } from "./kit/index.js";

describe("account-balances", () => {
  it("folds every account's journal into the view, exactly once, across a drain and a join", async () => {
    await using cluster = await startTestCluster({ actors: [account], projections: [accountBalances], nodes: 3, natsUrl: inject("natsUrl") });
    const expected = new Map<string, BalanceRow>();
    const accounts = Array.from({ length: 40 }, (_, i) => `acct-${i}`);
    let n = 0;
    const load = async (rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        await Promise.all(
          accounts.map(async (id) => {
            const reply = await cluster.ref(account, id).ask({ deposit: { amount: 10 + (n % 7), txn: `t-${id}-${n++}` } });
            expected.set(id, { balance: reply.balance, version: expected.get(id) === undefined ? 1 : expected.get(id)!.version + 1 });
          }),
        );
      }
    };
    await load(5);
    await cluster.drainNode(cluster.nodes[0]!);
    await load(5);
    await cluster.addNode("late");
    await load(5);
    const nc = await connect({ servers: inject("natsUrl") });
    await using _ = { [Symbol.asyncDispose]: () => nc.close() };
    const view = await ProjectionView.open<BalanceRow>(nc, cluster.cluster, "account-balances");
    await waitFor(
      async () => {
        for (const [id, want] of expected) {
          const got = await view.get(id);
          if (got?.value.version !== want.version) return false;
        }
        return true;
      },
      { timeout: 20_000, interval: 200 },
    );
    for (const [id, want] of expected) expect((await view.get(id))?.value, id).toEqual(want);
  }, 60_000);

  it("reads only its types, also when a rebuild reads the whole journal to catch up", async () => {
    const note = defineActor({
      type: "note",
      initialState: () => 0,
      evolve: (n: number, _e: { noted: true }) => n + 1,
      messages: { add: { validate: () => ({}), handle: () => ({ events: [{ noted: true as const }], reply: null }) } },
    });
    const perType = defineProjection<AccountEvent, number>({
      name: "per-type",
      from: [account],
      partitions: 2,
      async handle({ type }, { view }) {
        view.set(type, ((await view.get(type)) ?? 0) + 1);
      },
    });
    await using cluster = await startTestCluster({ actors: [account, note], projections: [perType], nodes: 2, natsUrl: inject("natsUrl") });
    for (let i = 0; i < 30; i++) {
      await cluster.ref(account, `pt-${i % 5}`).ask({ deposit: { amount: 1, txn: `pt-${i}` } });
      await cluster.ref(note, `n-${i % 3}`).send({ add: {} });
      await cluster.ref(note, `m-${i % 3}`).send({ add: {} });
    }
    const nc = await connect({ servers: inject("natsUrl") });
    await using _ = { [Symbol.asyncDispose]: () => nc.close() };
    const view = await ProjectionView.open<number>(nc, cluster.cluster, "per-type");
    await waitFor(async () => (await view.get("account"))?.value === 30, { timeout: 15_000, interval: 50 });
    // Build 2 starts with a backlog of which a third is its own: it reads the whole journal.
    await startRebuild(await ProjectionBucket.open({ nc, cluster: cluster.cluster, name: "per-type" }), Date.now());
    await waitFor(async () => (await view.meta()).serving === 2, { timeout: 30_000, interval: 100 });
    expect((await view.get("account"))?.value).toBe(30);
    expect(await view.get("note")).toBeUndefined();
  }, 60_000);

  it("keeps a key that every partition writes exact: a refused commit reads again and retries", async () => {
    // Partitions start fresh (they take keys they have not seen as absent); the first commit of
    // all but one is refused on the shared key, and they go on from their checkpoints.
    const all = defineProjection<AccountEvent, number>({
      name: "grand-total",
      from: [account],
      partitions: 4,
      async handle(_e, { view }) {
        view.set("all", ((await view.get("all")) ?? 0) + 1);
      },
    });
    await using cluster = await startTestCluster({ actors: [account], projections: [all], nodes: 2, natsUrl: inject("natsUrl") });
    await Promise.all(Array.from({ length: 40 }, (_, i) => cluster.ref(account, `gt-${i}`).ask({ deposit: { amount: 1, txn: `gt-${i}` } })));
    const nc = await connect({ servers: inject("natsUrl") });
    await using _ = { [Symbol.asyncDispose]: () => nc.close() };
    const view = await ProjectionView.open<number>(nc, cluster.cluster, "grand-total");
    await waitFor(async () => (await view.checkpoints()).reduce((n, cp) => n + (cp?.applied ?? 0), 0) === 40, { timeout: 30_000, interval: 100 });
    expect((await view.get("all"))?.value).toBe(40);
  }, 60_000);
});
