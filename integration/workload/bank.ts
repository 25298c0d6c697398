/**
 * The bank workload (invariants 1 and 2: nothing acknowledged is lost, nothing applied twice):
 * deposits to `account` actors, each retried with the same txn until acknowledged, and the
 * check of the history against the final balances.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { randomUUID } from "node:crypto";
import type { MovementReply } from "../../src/actors/account.js";
import { addTo, failures, longestOutage, type Outage } from "./history.js";
import { type Attempt, Driver, type LiveSummary, type LoopOptions, type Run } from "./traffic.js";

export interface BankRequest {
  sender: number;
  account: string;
  txn: string;
  amount: number;
  attempts: Attempt[];
  acked: boolean;
  /** The first attempt was answered `applied: false`: the txn existed before it was ever sent. */
  appliedBeforeSent?: boolean;
}

export interface BankOptions extends LoopOptions {
  accounts: readonly string[];
  /** Prefix of the txn ids (default: random, so runs never share one). */
  txnPrefix?: string;
}

export interface BankResult {
  history: BankRequest[];
  summary: LiveSummary;
}

/**
 * `senders` concurrent loops of sequential deposits (1..9, to a random account, a unique txn
 * each) through the ingress. A failed attempt is retried with the SAME txn, amount and
 * account until it is acknowledged or `maxRetryMs` passed.
 */
export function runBank(opts: BankOptions): Run<BankResult, BankRequest> {
  if (opts.accounts.length === 0) throw new TypeError("runBank needs at least one account");
  const d = new Driver(opts);
  const prefix = opts.txnPrefix ?? randomUUID().slice(0, 8);
  const history: BankRequest[] = [];
  let n = 0;
  const done = d
    .loops(async (sender) => {
      const account = opts.accounts[Math.floor(Math.random() * opts.accounts.length)]!;
      const req: BankRequest = { sender, account, txn: `${prefix}-${sender}-${n++}`, amount: 1 + Math.floor(Math.random() * 9), attempts: [], acked: false };
      history.push(req);
      const reply = await d.untilAcked<MovementReply>("account", account, { deposit: { amount: req.amount, txn: req.txn } }, req.attempts);
      if (reply !== undefined) {
        req.acked = true;
        if (reply.applied === false && req.attempts.length === 1) req.appliedBeforeSent = true;
      }
      return true;
    })
    .then(() => ({ history, summary: { ...d.live } }));
  return { history, summary: () => ({ ...d.live }), abort: () => (d.aborted = true), done };
}

export interface AccountCheck {
  account: string;
  balance: number;
  version: number;
  /** Sum and count of acknowledged deposits. */
  acked: number;
  ackedCount: number;
  /** Sum and count of deposits never acknowledged (each may or may not have been applied). */
  unacked: number;
  unackedCount: number;
  lost: number;
  duplicated: number;
}

export interface BankCheck {
  requests: number;
  acked: number;
  unacked: number;
  attempts: number;
  /** Σ over accounts of max(0, A − balance): acknowledged amounts missing from balances. */
  lost: number;
  /** Σ over accounts of max(0, balance − (A + U)): more money than was ever sent. */
  duplicated: number;
  /** Accounts with a loss, a duplicate, a version outside [acked txns, acked + unacked txns], or no balance. */
  problems: Array<AccountCheck & { why: string[] }>;
  /** Requests whose first attempt found the txn already applied (a txn is unique: impossible). */
  appliedBeforeSent: number;
  failedByCode: Record<string, number>;
  failedByPhase: Record<string, Record<string, number>>;
  /** Failed attempts in the given phases. */
  failedIn(...phases: string[]): number;
  longestOutage: Outage;
  /** Accounts whose ok replies came from more than one node (they moved under load). */
  accountsMoved: number;
}

/**
 * Checks the bank's history against the final balances. For each account, with A the sum of
 * acknowledged amounts and U the sum of the others: lost = max(0, A − balance) and
 * duplicated = max(0, balance − (A + U)); both must be 0. Each deposit is one event, so the
 * version must also lie in [acknowledged txns, acknowledged + unacknowledged txns].
 */
export function checkBank(history: readonly BankRequest[], balances: ReadonlyMap<string, { balance: number; version: number }>): BankCheck {
  const per = new Map<string, AccountCheck>();
  const nodes = new Map<string, Set<string>>();
  for (const r of history) {
    let a = per.get(r.account);
    if (a === undefined) {
      const b = balances.get(r.account);
      a = {
        account: r.account,
        balance: b?.balance ?? Number.NaN,
        version: b?.version ?? Number.NaN,
        acked: 0,
        ackedCount: 0,
        unacked: 0,
        unackedCount: 0,
        lost: 0,
        duplicated: 0,
      };
      per.set(r.account, a);
    }
    if (r.acked) {
      a.acked += r.amount;
      a.ackedCount++;
    } else {
      a.unacked += r.amount;
      a.unackedCount++;
    }
    for (const at of r.attempts) if (at.node !== undefined) addTo(nodes, r.account, at.node);
  }
  const problems: BankCheck["problems"] = [];
  let lost = 0;
  let duplicated = 0;
  for (const a of per.values()) {
    const why: string[] = [];
    if (Number.isNaN(a.balance)) why.push("no balance read");
    a.lost = Math.max(0, a.acked - a.balance);
    a.duplicated = Math.max(0, a.balance - (a.acked + a.unacked));
    if (a.lost > 0) why.push(`lost ${a.lost}`);
    if (a.duplicated > 0) why.push(`duplicated ${a.duplicated}`);
    if (!(a.version >= a.ackedCount && a.version <= a.ackedCount + a.unackedCount)) {
      why.push(`version ${a.version} outside [${a.ackedCount}, ${a.ackedCount + a.unackedCount}]`);
    }
    lost += a.lost;
    duplicated += a.duplicated;
    if (why.length > 0) problems.push({ ...a, why });
  }
  const f = failures(history);
  return {
    requests: history.length,
    acked: history.filter((r) => r.acked).length,
    unacked: history.filter((r) => !r.acked).length,
    attempts: history.reduce((n, r) => n + r.attempts.length, 0),
    lost,
    duplicated,
    problems,
    appliedBeforeSent: history.filter((r) => r.appliedBeforeSent).length,
    failedByCode: f.byCode,
    failedByPhase: f.byPhase,
    failedIn: f.inPhase,
    longestOutage: longestOutage(history),
    accountsMoved: [...nodes.values()].filter((s) => s.size > 1).length,
  };
}

/** Reads balances through the ingress, retrying each account until `timeout`. Missing = unreachable. */
export async function readBalances(
  nc: NatsConnection,
  cluster: string,
  accounts: readonly string[],
  timeout = 30_000,
): Promise<Map<string, { balance: number; version: number }>> {
  const d = new Driver({ nc, cluster, senders: 0, until: () => true, maxRetryMs: timeout });
  const out = new Map<string, { balance: number; version: number }>();
  await Promise.all(
    accounts.map(async (account) => {
      const reply = await d.untilAcked<MovementReply>("account", account, { balance: {} }, []);
      if (reply !== undefined) out.set(account, { balance: reply.balance, version: reply.version });
    }),
  );
  return out;
}
