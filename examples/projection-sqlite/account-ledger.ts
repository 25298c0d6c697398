/**
 * `account-ledger`: the `account` actor's events projected into SQLite (better-sqlite3), one
 * ledger row per event and a balance per account, exactly once although Shoal delivers events to
 * a handler at least once. Each event is applied in one SQLite transaction that first moves the
 * partition's checkpoint row forward: an event at or below it is a repeat and changes nothing.
 * docs/guides/projections-sqlite.md explains why that is enough; integration/projection-sqlite.test.ts
 * runs it on a cluster.
 */
import Database from "better-sqlite3";
import { defineProjection, type ProjectedEvent, type ProjectionDefinition } from "shoal";

/** The `account` actor's events, as far as this projection reads them (their amounts). */
export type AccountEvent =
  | { deposited: { amount: number } }
  | { withdrew: { amount: number } }
  | { transferred: { amount: number } }
  | { credited: { amount: number } };

/** How an event moves its account's balance (minor units). */
export function amountOf(e: AccountEvent): number {
  if ("deposited" in e) return e.deposited.amount;
  if ("withdrew" in e) return -e.withdrew.amount;
  if ("transferred" in e) return -e.transferred.amount;
  if ("credited" in e) return e.credited.amount;
  return 0;
}

/**
 * The tables. Every row carries the projection's `build`: a rebuild (`shoal projection rebuild`)
 * handles the whole journal again as build n + 1, beside build n, and may partition it differently,
 * so its rows and checkpoints must not meet the old build's.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger (
  build   INTEGER NOT NULL,
  account TEXT    NOT NULL,
  version INTEGER NOT NULL,  -- the account's version after the event: 1, 2, 3, ...
  amount  INTEGER NOT NULL,
  balance INTEGER NOT NULL,  -- the account's balance after the event
  seq     INTEGER NOT NULL,  -- (seq, idx): where the event sits in the journal
  idx     INTEGER NOT NULL,
  PRIMARY KEY (build, account, version)
);
CREATE TABLE IF NOT EXISTS balances (
  build   INTEGER NOT NULL,
  account TEXT    NOT NULL,
  balance INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (build, account)
);
CREATE TABLE IF NOT EXISTS checkpoints (
  projection TEXT    NOT NULL,
  build      INTEGER NOT NULL,
  partition  INTEGER NOT NULL,
  seq        INTEGER NOT NULL,  -- the last event applied in this partition
  idx        INTEGER NOT NULL,
  PRIMARY KEY (projection, build, partition)
);
`;

/** Opens (creating when missing) a ledger database at `file`. */
export function openLedger(file: string): Database.Database {
  const db = new Database(file);
  // WAL: readers never block the writer, and other processes on this host may share the file.
  db.pragma("journal_mode = WAL");
  // better-sqlite3 builds SQLite with NORMAL for WAL, where a power cut can lose the last commits.
  // Shoal records its own checkpoint once the handler returns, so a commit lost after that would
  // be an event lost for good: FULL makes every commit durable before the handler returns.
  db.pragma("synchronous = FULL");
  // Another connection holding the write lock: wait for it rather than fail at once.
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  return db;
}

/**
 * The projection, writing into `db` (see {@link openLedger}). Its failure policy is `stop`: a
 * dead-lettered or skipped event would leave a hole below the checkpoint, and a later
 * `shoal dlq retry` of it would be taken for a repeat.
 */
export function accountLedger(db: Database.Database, name = "account-ledger"): ProjectionDefinition<AccountEvent> {
  // The guard: moves the partition's checkpoint to (seq, idx) only if that is past it. No change
  // means the event was applied before (by this node, or by the one that had the partition).
  const advance = db.prepare(`
    INSERT INTO checkpoints (projection, build, partition, seq, idx) VALUES (@projection, @build, @partition, @seq, @idx)
    ON CONFLICT (projection, build, partition) DO UPDATE SET seq = excluded.seq, idx = excluded.idx
    WHERE (checkpoints.seq, checkpoints.idx) < (excluded.seq, excluded.idx)`);
  const addToBalance = db.prepare<{ build: number; account: string; amount: number; version: number }, { balance: number }>(`
    INSERT INTO balances (build, account, balance, version) VALUES (@build, @account, @amount, @version)
    ON CONFLICT (build, account) DO UPDATE SET balance = balances.balance + excluded.balance, version = excluded.version
    RETURNING balance`);
  const addRow = db.prepare(`
    INSERT INTO ledger (build, account, version, amount, balance, seq, idx)
    VALUES (@build, @account, @version, @amount, @balance, @seq, @idx)`);

  // One transaction: the checkpoint, the balance and the row land together or not at all.
  const apply = db.transaction((e: ProjectedEvent<AccountEvent>, build: number, partition: number): boolean => {
    if (advance.run({ projection: name, build, partition, seq: e.seq, idx: e.index }).changes === 0) return false;
    const amount = amountOf(e.event);
    const { balance } = addToBalance.get({ build, account: e.id, amount, version: e.version })!;
    addRow.run({ build, account: e.id, version: e.version, amount, balance, seq: e.seq, idx: e.index });
    return true;
  });

  return defineProjection<AccountEvent, never>({
    name,
    from: ["account"],
    partitions: 4,
    onFailure: { action: "stop" },
    handle(e, ctx) {
      // IMMEDIATE takes the write lock at BEGIN: two writers never both read, then both wait to write.
      apply.immediate(e, ctx.build, ctx.partition);
    },
  });
}
