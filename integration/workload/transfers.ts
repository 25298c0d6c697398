/**
 * The transfer workload (invariant 7: a message between actors takes effect exactly once):
 * accounts seeded with a deposit each, then random transfers among them through the ingress,
 * each retried with the same txn until answered (REJECTED for insufficient funds is an answer).
 * A transfer's debit is its reply; its credit is a message from the source account to the
 * destination, which the checker finds in the destination's journal, exactly once.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { MovementReply } from "../../src/actors/account.js";
import { ErrorCode } from "../../src/errors.js";
import { bounded } from "../kit/index.js";
import { readBalances } from "./bank.js";
import { longestOutage, failures, type Outage } from "./history.js";
import { type JournalEntry, readJournal } from "./journal.js";
import { type Attempt, Driver, type LiveSummary, type LoopOptions, type Run } from "./traffic.js";

export interface TransferRequest {
  sender: number;
  /** For the history helpers: the account the request went to (the source). */
  account: string;
  to: string;
  amount: number;
  txn: string;
  attempts: Attempt[];
  /** Answered: applied now or before (`applied`), or refused (`rejected`). */
  acked: boolean;
  rejected: boolean;
}

export interface TransferOptions extends LoopOptions {
  accounts: readonly string[];
  /** Txn prefix, unique per run. */
  txnPrefix: string;
  /** What each account is seeded with before the transfers (default 100). */
  seed?: number;
}

export interface TransferResult {
  history: TransferRequest[];
  /** Seed deposits that were acknowledged (all must be, or the run is void). */
  seeded: number;
  summary: LiveSummary;
}

const rejected = new Set<string>([ErrorCode.REJECTED]);

/** Seeds every account, then runs `senders` loops of transfers (1..20, random source and destination). */
export function runTransfers(opts: TransferOptions): Run<TransferResult, TransferRequest> {
  const d = new Driver(opts);
  const history: TransferRequest[] = [];
  const seed = opts.seed ?? 100;
  let n = 0;
  const done = (async () => {
    const seeds = await Promise.all(
      opts.accounts.map((a) => d.untilAcked<MovementReply>("account", a, { deposit: { amount: seed, txn: `${opts.txnPrefix}-seed-${a}` } }, [])),
    );
    const seeded = seeds.filter((r) => r !== undefined).length;
    await d.loops(async (sender) => {
      const from = opts.accounts[Math.floor(Math.random() * opts.accounts.length)]!;
      let to = from;
      while (to === from) to = opts.accounts[Math.floor(Math.random() * opts.accounts.length)]!;
      const req: TransferRequest = {
        sender,
        account: from,
        to,
        amount: 1 + Math.floor(Math.random() * 20),
        txn: `${opts.txnPrefix}-${sender}-${n++}`,
        attempts: [],
        acked: false,
        rejected: false,
      };
      history.push(req);
      const r = await d.untilSettled<MovementReply>("account", from, { transfer: { to, amount: req.amount, txn: req.txn } }, req.attempts, rejected);
      req.acked = r !== undefined;
      req.rejected = r !== undefined && "refused" in r;
      return true;
    });
    return { history, seeded, summary: { ...d.live } };
  })();
  return { history, summary: () => ({ ...d.live }), abort: () => (d.aborted = true), done };
}

interface Debit {
  account: string;
  to: string;
  amount: number;
  txn: string;
}

/** What the journals and balances say about a transfer run. */
export interface TransferCheck {
  /** Acknowledged (not rejected) transfers with no debit in their source's journal. */
  lostDebits: string[];
  /** Txns debited more than once. */
  repeatedDebits: string[];
  /** Debits whose credit is not in the destination's journal (after waiting for the quiet point). */
  missingCredits: string[];
  /** Credits found more than once in a destination's journal. */
  repeatedCredits: string[];
  /** Credits with no debit, or whose amount or destination differs from it. */
  foreignCredits: string[];
  /** Rejected transfers that were debited all the same (a timed-out earlier attempt applied later): noted, not a failure. */
  rejectedButDebited: number;
  /** Accounts whose balance went below 0 in their journal, or is below 0 now. */
  negative: string[];
  /** Σ balances − Σ seeds (0 when money is conserved). */
  moneyDrift: number;
  /** Accounts whose balance differs from the fold of their journal. */
  stateDrift: string[];
  unreachable: string[];
  /** Time from the end of the load until every debit had its credit, ms. */
  quietAfterMs: number;
  debits: number;
  credits: number;
  rejected: number;
  acked: number;
  gaveUp: number;
  longestOutage: Outage;
  failedByCode: Record<string, number>;
}

/** Reads every journal, and again until each debit has found its credit (or `quietTimeout`), then checks it all. */
export async function checkTransfers(
  nc: NatsConnection,
  cluster: string,
  accounts: readonly string[],
  result: TransferResult,
  seed: number,
  quietTimeout = 60_000,
): Promise<TransferCheck> {
  const t0 = Date.now();
  // The journals only, straight from the stream: no account is activated by the checker, so a
  // credit whose sender's node died must come from the wake-up its shard's new owner gives it.
  let journals = await readAll(nc, cluster, accounts);
  while (missing(journals).length > 0 && Date.now() - t0 < quietTimeout) {
    await new Promise((r) => setTimeout(r, 250));
    journals = await readAll(nc, cluster, accounts);
  }
  const quietAfterMs = Date.now() - t0;
  const balances = await readBalances(nc, cluster, accounts, 60_000);
  journals = await readAll(nc, cluster, accounts);

  const debits = new Map<string, Debit[]>();
  const credits = new Map<string, Array<{ account: string; amount: number }>>();
  const negative: string[] = [];
  const stateDrift: string[] = [];
  for (const [account, journal] of journals) {
    let running = 0;
    for (const e of journal) {
      const ev = e.event as Record<string, { amount: number; txn: string; to?: string; from?: string }>;
      if (ev.deposited !== undefined) running += ev.deposited.amount;
      else if (ev.withdrew !== undefined) running -= ev.withdrew.amount;
      else if (ev.transferred !== undefined) {
        const t = ev.transferred;
        running -= t.amount;
        push(debits, t.txn, { account, to: t.to!, amount: t.amount, txn: t.txn });
      } else if (ev.credited !== undefined) {
        const c = ev.credited;
        running += c.amount;
        push(credits, `${c.from}\u0000${c.txn}`, { account, amount: c.amount });
      }
      if (running < 0 && !negative.includes(account)) negative.push(account);
    }
    const b = balances.get(account);
    if (b !== undefined && b.balance !== running) stateDrift.push(`${account}: balance ${b.balance}, journal ${running}`);
    if (b !== undefined && b.balance < 0 && !negative.includes(account)) negative.push(account);
  }
  const lostDebits: string[] = [];
  let rejectedButDebited = 0;
  for (const r of result.history) {
    const found = debits.get(r.txn);
    if (r.acked && !r.rejected && found === undefined) lostDebits.push(r.txn);
    if (r.rejected && found !== undefined) rejectedButDebited++;
  }
  const missingCredits: string[] = [];
  const repeatedCredits: string[] = [];
  const foreignCredits: string[] = [];
  for (const [txn, ds] of debits) {
    const d = ds[0]!;
    const cs = credits.get(`${d.account}\u0000${txn}`) ?? [];
    if (cs.length === 0) missingCredits.push(txn);
    if (cs.length > 1) repeatedCredits.push(txn);
    if (cs.some((c) => c.account !== d.to || c.amount !== d.amount)) foreignCredits.push(txn);
  }
  for (const [k, cs] of credits) {
    const [from, txn] = k.split("\u0000") as [string, string];
    if (debits.get(txn)?.some((d) => d.account === from) !== true) foreignCredits.push(`${txn} (x${cs.length})`);
  }
  let sum = 0;
  for (const b of balances.values()) sum += b.balance;
  const f = failures(result.history);
  return {
    lostDebits,
    repeatedDebits: [...debits].filter(([, ds]) => ds.length > 1).map(([t]) => t),
    missingCredits,
    repeatedCredits,
    foreignCredits,
    rejectedButDebited,
    negative,
    moneyDrift: sum - seed * result.seeded,
    stateDrift,
    unreachable: accounts.filter((a) => !balances.has(a) || !journals.has(a)),
    quietAfterMs,
    debits: [...debits.values()].reduce((n, ds) => n + ds.length, 0),
    credits: [...credits.values()].reduce((n, cs) => n + cs.length, 0),
    rejected: result.history.filter((r) => r.rejected).length,
    acked: result.history.filter((r) => r.acked).length,
    gaveUp: result.history.filter((r) => !r.acked).length,
    longestOutage: longestOutage(result.history),
    failedByCode: f.byCode,
  };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

/** Debits whose credit is not in any journal yet. */
function missing(journals: ReadonlyMap<string, readonly JournalEntry[]>): string[] {
  const credited = new Set<string>();
  const debited: Array<[string, string]> = [];
  for (const [account, journal] of journals) {
    for (const e of journal) {
      const ev = e.event as Record<string, { txn: string; from?: string }>;
      if (ev.transferred !== undefined) debited.push([account, ev.transferred.txn]);
      if (ev.credited !== undefined) credited.add(`${ev.credited.from}\u0000${ev.credited.txn}`);
    }
  }
  return debited.filter(([a, t]) => !credited.has(`${a}\u0000${t}`)).map(([, t]) => t);
}

async function readAll(nc: NatsConnection, cluster: string, accounts: readonly string[]): Promise<Map<string, JournalEntry[]>> {
  const out = new Map<string, JournalEntry[]>();
  for (const a of accounts) {
    for (let i = 0; i < 20; i++) {
      const j = await bounded(
        readJournal(nc, cluster, "account", a).catch(() => undefined),
        10_000,
      );
      if (j !== "timeout" && j !== undefined) {
        out.set(a, j);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return out;
}
