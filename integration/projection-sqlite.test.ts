/**
 * The SQLite guide's projection (examples/projection-sqlite, docs/guides/projections-sqlite.md)
 * on a real cluster and a real SQLite file: three nodes in this process share one database while
 * 30 accounts take deposits and withdrawals, a node drains and another joins (partitions move),
 * then every partition is replayed from the start of the journal, so every event is delivered to
 * the handler again. The ledger must still hold exactly one row per journal event, and the
 * balances the fold of each journal: the checkpoint kept in the rows' transaction makes the
 * SQLite side exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import Database from "better-sqlite3";
import { describe, expect, inject, it } from "vitest";
import { type AccountEvent, accountLedger, amountOf, openLedger } from "../examples/projection-sqlite/account-ledger.js";
import { replayProjection } from "../cluster/replay.js";
import { account } from "../src/actors/account.js";
import { ProjectionBucket } from "../src/projection/bucket.js";
import type { ProjectionDefinition } from "../src/projection/spec.js";
import { startTestCluster } from "../testing/index.js";
import { waitFor } from "./kit/index.js";
import { openStore } from "./open-store.js";
import { readJournal } from "./workload/journal.js";

// better-sqlite3 is a native addon, built by its install script: `npm ci --ignore-scripts` leaves
// it unbuilt (`npm rebuild better-sqlite3` builds it). CI runs `npm ci`, and there it must load.
const unbuilt = (() => {
  try {
    new Database(":memory:").close();
    return undefined;
  } catch (err) {
    return (err as Error).message.split("\n")[0];
  }
})();
const suite = unbuilt === undefined || process.env.CI !== undefined ? describe : describe.skip;
const title = unbuilt === undefined ? "account-ledger in SQLite" : `account-ledger in SQLite — skipped: better-sqlite3 is not built (${unbuilt})`;

/** A ledger row as the journal says it must be. */
interface Row {
  version: number;
  amount: number;
  balance: number;
  seq: number;
  idx: number;
}

suite(title, () => {
  it("holds one row per journal event and the fold as balance, across a drain, a join and a replay from the start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-sqlite-"));
    const db = openLedger(join(dir, "ledger.db"));
    await using _files = {
      [Symbol.asyncDispose]: async () => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    // How often the handler returned for each event (`seq-index`): a repeat is a delivery again.
    const deliveries = new Map<string, number>();
    // What it threw: nothing should (a repeat let through fails on the ledger's primary key).
    const errors: string[] = [];
    const ledger = accountLedger(db);
    const counted: ProjectionDefinition<AccountEvent> = {
      ...ledger,
      async handle(e, ctx) {
        try {
          await ledger.handle(e, ctx);
        } catch (err) {
          errors.push(`${e.id} v${e.version} (${e.seq}-${e.index}): ${(err as Error).message}`);
          throw err;
        }
        deliveries.set(`${e.seq}-${e.index}`, (deliveries.get(`${e.seq}-${e.index}`) ?? 0) + 1);
      },
    };
    await using cluster = await startTestCluster({ actors: [account], projections: [counted], nodes: 3, natsUrl: inject("natsUrl") });
    const nc = await connect({ servers: inject("natsUrl") });
    await using _nc = { [Symbol.asyncDispose]: () => nc.close() };
    const store = await openStore({ nc, cluster: cluster.cluster, create: false });
    await using _store = { [Symbol.asyncDispose]: () => store.close() };

    const accounts = Array.from({ length: 30 }, (_, i) => `acct-${i}`);
    // Turns of the account actor append one event each; these journals are written straight to
    // the store, three events per append, so events share a seq and differ by index.
    const batched = Array.from({ length: 3 }, (_, i) => `batch-${i}`);
    // What each journal must fold to: the account actor's last reply, or what was appended.
    const expected = new Map<string, { balance: number; version: number }>();
    let round = 0;
    const load = async (rounds: number) => {
      for (let r = 0; r < rounds; r++, round++) {
        await Promise.all(
          batched.map(async (id, i) => {
            const amounts = [5 + i, 6 + round, 7];
            const had = expected.get(id) ?? { balance: 0, version: 0 };
            const events = amounts.map((amount, k) => ({ deposited: { amount, txn: `${id}-${round}-${k}` } }));
            await store.append({ type: "account", id }, events, had.version);
            expected.set(id, { balance: had.balance + amounts.reduce((a, b) => a + b), version: had.version + events.length });
          }),
        );
        await Promise.all(
          accounts.map(async (id, i) => {
            const ref = cluster.ref(account, id);
            const txn = `${id}-${round}`;
            // Every third round withdraws less than any deposit before it, so none is refused.
            const reply =
              round % 3 === 2 ? await ref.ask({ withdraw: { amount: 3, txn } }) : await ref.ask({ deposit: { amount: 10 + ((i + round) % 7), txn } });
            const had = expected.get(id);
            if (had === undefined || reply.version > had.version) expected.set(id, { balance: reply.balance, version: reply.version });
          }),
        );
      }
    };
    const rowsOf = db.prepare<[string], Row>("SELECT version, amount, balance, seq, idx FROM ledger WHERE build = 1 AND account = ? ORDER BY version");
    const balanceOf = db.prepare<[string], { balance: number; version: number }>("SELECT balance, version FROM balances WHERE build = 1 AND account = ?");
    const caughtUp = () => [...accounts, ...batched].every((id) => balanceOf.get(id)?.version === expected.get(id)?.version);

    await load(4);
    await cluster.drainNode(cluster.nodes[0]!);
    await load(4);
    await cluster.addNode("late");
    await load(4);
    await waitFor(caughtUp, { timeout: 30_000, interval: 100, message: "the ledger did not catch up with the journal" });

    // `shoal replay projection account-ledger --mode checkpoint-only`: every partition goes back to
    // the start of the journal, so each event so far is delivered again.
    const bucket = await ProjectionBucket.open({ nc, cluster: cluster.cluster, name: "account-ledger" });
    const before = new Map(deliveries);
    expect(before.size).toBe(12 * (accounts.length + 3 * batched.length));
    await replayProjection(nc, cluster.cluster, { projection: "account-ledger", mode: "checkpoint-only" });
    await load(1);
    await waitFor(() => [...before].every(([key, count]) => (deliveries.get(key) ?? 0) > count) && caughtUp(), {
      timeout: 45_000,
      interval: 200,
      message: "the replay did not deliver every event again",
    });

    // Every partition reads on to the journal's end, and none stops on the way.
    const journals = new Map(
      await Promise.all([...accounts, ...batched].map(async (id) => [id, await readJournal(nc, cluster.cluster, "account", id)] as const)),
    );
    const end = Math.max(...[...journals.values()].flatMap((j) => j.map((e) => e.seq)));
    const partitions = Array.from({ length: ledger.partitions.count }, (_, k) => k);
    const checkpoints = () => Promise.all(partitions.map(async (k) => (await bucket.checkpoint(1, k)).value));
    await waitFor(async () => (await checkpoints()).every((cp) => cp?.stopped !== undefined || (cp !== undefined && cp.seq >= end)), {
      timeout: 30_000,
      interval: 200,
      message: "the partitions did not read to the end of the journal",
    });
    expect((await checkpoints()).map((cp) => cp?.stopped)).toEqual(partitions.map(() => undefined));
    expect(errors).toEqual([]);

    // The ledger against the journals themselves: one row per event, at its (seq, index), and the fold.
    let events = 0;
    for (const [id, journal] of journals) {
      let balance = 0;
      const want = journal.map((j, i) => {
        const amount = amountOf(j.event as AccountEvent);
        balance += amount;
        const first = journal.findIndex((x) => x.seq === j.seq);
        return { version: j.version, amount, balance, seq: j.seq, idx: i - first };
      });
      events += want.length;
      expect(rowsOf.all(id), id).toEqual(want);
      expect(balanceOf.get(id), id).toEqual({ balance, version: journal.length });
      expect(expected.get(id), id).toEqual({ balance, version: journal.length });
    }
    expect(events).toBe(13 * (accounts.length + 3 * batched.length));
    expect(db.prepare("SELECT count(*) AS n, max(idx) AS lastIndex FROM ledger").get()).toEqual({ n: events, lastIndex: 2 });
    // Each event reached the handler at least twice (once before the replay, once after), and was applied once.
    expect([...before.keys()].filter((key) => (deliveries.get(key) ?? 0) < 2)).toEqual([]);
  }, 120_000);
});
