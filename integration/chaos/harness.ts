/**
 * What the chaos scenarios share: a cluster of node processes whose nodes may each use their
 * own NATS URL (a proxy, or all three servers), a bank load through the ingress, and the
 * checker that turns its history, the final balances and the journals into a ScenarioResult.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { randomUUID } from "node:crypto";
import type { NodeStatus } from "../../cluster/status.js";
import { bounded, type NodeProcess, TestCluster, waitFor } from "../kit/index.js";
import { checkAccountJournal, checkBank, Phases, readBalances, readJournal, type BankRequest, type Run, type BankResult, runBank } from "../workload.js";
import type { ScenarioResult } from "./types.js";

/** Fast failure detection, as in the migration tests. */
export const FAST_NODE_ARGS = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"];
export const SHARDS = 64;
/** Bound of every wait for the cluster to settle after a change. */
export const SETTLE = 45_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let seq = 0;
/** A cluster name no other run uses. */
export const chaosName = (prefix: string) => `${prefix}${process.pid}x${Date.now().toString(36)}${seq++}`;

/** The chaos scenarios' cluster: the shared TestCluster with fast failure detection and a long settle bound. */
export type ChaosCluster = TestCluster;
export const ChaosCluster = {
  /** `urls`: the servers the observer (and by default every node) connects to. */
  create(urls: readonly string[], prefix: string, args: string[] = FAST_NODE_ARGS): Promise<TestCluster> {
    return TestCluster.create(urls.join(","), chaosName(prefix), { shards: SHARDS, args, settleTimeout: SETTLE });
  },
};

/** A running bank load and the phases it is marked with. */
export interface Load {
  readonly bank: Run<BankResult, BankRequest>;
  readonly phases: Phases;
  readonly accounts: string[];
  /** Waits until `n` more requests were acknowledged (the cluster serves in the current phase). */
  progress(n: number, what: string, timeout?: number): Promise<void>;
  /** Stops new requests, waits for those in flight (and their retries), checks everything. */
  finish(): Promise<ScenarioResult>;
}

export interface LoadOptions {
  accounts?: number;
  senders?: number;
  thinkMs?: number;
  askTimeout?: number;
  /** A request is retried this long before it counts as given up. Default 60 s. */
  maxRetryMs?: number;
}

/**
 * n1 first, so it leads, then n2, and n3 connected through `isolatedUrl` (a proxy the scenario
 * cuts or freezes): the node a link fault isolates is a plain owner, never the leader (a
 * faulty leader is the election's business). Resolves with the settled statuses.
 */
export async function startWithIsolatedNode(c: ChaosCluster, isolatedUrl: string): Promise<NodeStatus[]> {
  c.start("n1");
  await c.waitStable(["n1"]);
  c.start("n2");
  c.start("n3", [], isolatedUrl);
  return c.waitStable(["n1", "n2", "n3"]);
}

/** Starts the bank: `senders` sequential depositors over `accounts` accounts, every attempt recorded. */
export function startLoad(c: ChaosCluster, opts: LoadOptions = {}): Load {
  const accounts = Array.from({ length: opts.accounts ?? 40 }, (_, i) => `acct-${i}`);
  const phases = new Phases("steady");
  const prefix = `t${randomUUID().slice(0, 8)}`;
  let stop = false;
  const bank = runBank({
    nc: c.nc,
    cluster: c.name,
    accounts,
    senders: opts.senders ?? 4,
    until: () => stop,
    maxRetryMs: opts.maxRetryMs ?? 60_000,
    phases,
    askTimeout: opts.askTimeout ?? 3000,
    thinkMs: opts.thinkMs ?? 5,
    txnPrefix: prefix,
  });
  return {
    bank,
    phases,
    accounts,
    async progress(n, what, timeout = SETTLE) {
      const target = bank.summary().acked + n;
      await waitFor(() => bank.summary().acked >= target, {
        timeout,
        interval: 50,
        message: `${what}: the workload did not get ${n} more acks: ${JSON.stringify(bank.summary())}`,
      });
    },
    async finish() {
      stop = true;
      const done = await bounded(bank.done, (opts.maxRetryMs ?? 60_000) + 15_000);
      if (done === "timeout") bank.abort();
      const result = await bank.done;
      return checkLoad(c, result.history, accounts, prefix);
    },
  };
}

/** `<prefix>-<sender>-<n>`: n grows with the send order of every sender. */
function parseTxn(txn: string, prefix: string): { sender: number; n: number } | undefined {
  if (!txn.startsWith(`${prefix}-`)) return undefined;
  const [sender, n] = txn
    .slice(prefix.length + 1)
    .split("-")
    .map(Number);
  return sender === undefined || n === undefined || Number.isNaN(sender) || Number.isNaN(n) ? undefined : { sender, n };
}

/**
 * The checker. Per account: every acknowledged txn is in the journal (lost), no txn is in it
 * twice and the balance is within what was sent (duplicated), and each sender's txns are in
 * the journal in the order sent (order violations: a txn after a later one of its sender).
 */
export async function checkLoad(c: ChaosCluster, history: readonly BankRequest[], accounts: readonly string[], prefix: string): Promise<ScenarioResult> {
  const balances = await readBalances(c.nc, c.name, accounts, 60_000);
  const bank = checkBank(history, balances);
  let missingAcked = 0;
  let repeated = 0;
  let order = 0;
  let foreign = 0;
  const examples: string[] = [];
  let journalAccountsUnread = 0;
  for (const account of accounts) {
    const journal = await readJournalRetrying(c.nc, c.name, account);
    if (journal === undefined) {
      journalAccountsUnread++;
      continue;
    }
    const jc = checkAccountJournal(history, account, journal);
    missingAcked += jc.missingAcked.length;
    repeated += jc.repeatedTxns.length;
    foreign += jc.foreign.length;
    if (jc.missingAcked.length > 0) examples.push(`${account}: acked but missing ${jc.missingAcked.slice(0, 3).join(",")}`);
    if (jc.repeatedTxns.length > 0) examples.push(`${account}: repeated ${jc.repeatedTxns.slice(0, 3).join(",")}`);
    if (!jc.contiguous) examples.push(`${account}: versions not contiguous`);
    const last = new Map<number, number>();
    for (const e of journal) {
      const body = (e.event as { deposited?: { txn: string } }).deposited;
      const t = body === undefined ? undefined : parseTxn(body.txn, prefix);
      if (t === undefined) continue;
      const prev = last.get(t.sender);
      if (prev !== undefined && t.n < prev) {
        order++;
        if (examples.length < 10) examples.push(`${account}: sender ${t.sender} txn ${t.n} after ${prev}`);
      }
      last.set(t.sender, Math.max(prev ?? -1, t.n));
    }
  }
  // The balance check sees what the journal check might not (state that drifted from the journal).
  const bankLostOnly = bank.problems.filter((p) => p.lost > 0).length;
  const bankDupOnly = bank.problems.filter((p) => p.duplicated > 0).length;
  const failedChecks: string[] = [];
  const unreachable = accounts.filter((a) => !balances.has(a));
  if (unreachable.length > 0) failedChecks.push(`${unreachable.length} accounts unreachable at the end`);
  if (journalAccountsUnread > 0) failedChecks.push(`${journalAccountsUnread} journals unreadable`);
  if (foreign > 0) failedChecks.push(`${foreign} txns in journals that were never sent`);
  const gaveUp = history.filter((r) => !r.acked).length;
  // A few distinct messages per failure code: what a caller saw.
  const errorSamples: Record<string, string[]> = {};
  for (const a of history.flatMap((r) => r.attempts)) {
    if (a.outcome === "ok" || a.message === undefined) continue;
    errorSamples[a.outcome] ??= [];
    const list = errorSamples[a.outcome]!;
    if (list.length < 3 && !list.includes(a.message)) list.push(a.message);
  }
  return {
    lost: Math.max(missingAcked, bankLostOnly),
    duplicated: Math.max(repeated, bankDupOnly) + bank.appliedBeforeSent,
    orderViolations: order,
    longestUnavailableMs: bank.longestOutage.ms,
    failedChecks,
    notes: {
      requests: bank.requests,
      acked: bank.acked,
      gaveUp,
      attempts: bank.attempts,
      failedByCode: bank.failedByCode,
      failedByPhase: bank.failedByPhase,
      errorSamples,
      outagePhases: bank.longestOutage.phases,
      balanceProblems: bank.problems.slice(0, 5).map((p) => `${p.account}: ${p.why.join("; ")}`),
      accountsMoved: bank.accountsMoved,
      examples,
    },
  };
}

async function readJournalRetrying(nc: NatsConnection, cluster: string, account: string) {
  for (let i = 0; i < 20; i++) {
    try {
      return await readJournal(nc, cluster, "account", account);
    } catch {
      await sleep(500);
    }
  }
  return undefined;
}

/** Merges a scenario's own checks and notes into the load's result. */
export function withChecks(r: ScenarioResult, failed: Array<string | false | undefined>, notes: Record<string, unknown>): ScenarioResult {
  return { ...r, failedChecks: [...r.failedChecks, ...failed.filter((f): f is string => typeof f === "string")], notes: { ...r.notes, ...notes } };
}

/** SIGTERM and wait for the exit within `ms`; a node still running then is killed. */
export async function drainNode(node: NodeProcess, ms = 30_000): Promise<{ exit: number | null | "timeout"; ms: number }> {
  const t0 = Date.now();
  const exit = await bounded(node.stop(), ms);
  if (exit === "timeout") await node.kill();
  return { exit, ms: Date.now() - t0 };
}

/** The leader's id from a settled status list. */
export const leaderOf = (s: readonly NodeStatus[]): string => s.find((x) => x.isLeader)?.node ?? s[0]?.leader ?? "";
