/**
 * Projections in one process (issue 16): three nodes run `account-balances` in 4 partitions
 * while accounts take deposits and withdrawals; the KV view must equal the fold of each journal.
 */
import { connect } from "@nats-io/transport-node";
import { describe, expect, inject, it } from "vitest";
import { account } from "../src/actors/account.js";
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
});
