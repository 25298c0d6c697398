/**
 * Workloads and invariant checkers for multi-process tests (migration, chaos): a bank of
 * `account` actors (invariants 1 and 2: nothing acknowledged is lost, nothing applied twice)
 * and per-sender sequences on `sequencer` actors (invariant 3: order per sender, and in-memory
 * state carried across a move). Everything goes through the ingress, as an outside client would.
 *
 * Each workload records every attempt with the phase the test had marked when the attempt's
 * outcome was known, so a test can say "no ask failed during the join" and mean it.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { randomUUID } from "node:crypto";
import type { MovementReply } from "../src/actors/account.js";
import type { SequencerReport, SequencerStepReply } from "../src/actors/sequencer.js";
import { ShoalClient } from "../src/client.js";
import { msgpack } from "../src/codec/msgpack.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { journalSubject, streamName } from "../src/nats-names.js";
import { Headers } from "../src/store/jetstream-layout.js";

/** The phases a test walks through (`steady`, `join`, `drain`, `crash`…), as a timeline. */
export class Phases {
  private readonly marks: Array<{ name: string; at: number }>;

  constructor(initial = "steady") {
    this.marks = [{ name: initial, at: Date.now() }];
  }

  mark(name: string): void {
    this.marks.push({ name, at: Date.now() });
  }

  get current(): string {
    return this.marks.at(-1)!.name;
  }

  timeline(): ReadonlyArray<{ name: string; at: number }> {
    return this.marks;
  }
}

/** One try of one request. `outcome` is "ok" or the error code; `phase` is the phase when it ended. */
export interface Attempt {
  /** Start, ms since the epoch. */
  at: number;
  ms: number;
  outcome: "ok" | string;
  phase: string;
  /** The node that served an ok reply. */
  node?: string;
  /** First 200 characters of an error's message. */
  message?: string;
}

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

interface LoopOptions {
  nc: NatsConnection;
  cluster: string;
  senders: number;
  /** Checked before each new request; the request in progress still retries to its end. */
  until: () => boolean;
  /** Retries of one request stop this long after its first attempt (it stays unacknowledged). */
  maxRetryMs?: number;
  phases?: Phases;
  /** Timeout of one attempt (the client's transport waits 1 s more). Default 2000. */
  askTimeout?: number;
  /** Pause between two requests of one sender: the load's rate. Default 0. */
  thinkMs?: number;
}

export interface BankOptions extends LoopOptions {
  accounts: readonly string[];
  /** Prefix of the txn ids (default: random, so runs never share one). */
  txnPrefix?: string;
}

/** Counters that a test can poll while a workload runs. */
export interface LiveSummary {
  requests: number;
  acked: number;
  failedAttempts: number;
  gaveUp: number;
}

/** A running workload: a live view, `abort()` (drop retries at once, for cleanup) and the end result. */
export interface Run<R, H = unknown> {
  /** The requests so far (live; attempts are appended as they end). */
  readonly history: readonly H[];
  summary(): LiveSummary;
  abort(): void;
  readonly done: Promise<R>;
}

export interface BankResult {
  history: BankRequest[];
  summary: LiveSummary;
}

function addTo(m: Map<string, Set<string>>, key: string, value: string): void {
  const s = m.get(key);
  if (s === undefined) m.set(key, new Set([value]));
  else s.add(value);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const describeError = (err: unknown) => ({
  code: ShoalError.is(err) ? err.code : "CLIENT_ERROR",
  message: String((err as Error)?.message ?? err).slice(0, 200),
});

/** Shared by the workloads: sender loops, attempts, retries with backoff, live counters. */
class Driver {
  readonly client: ShoalClient;
  readonly live: LiveSummary = { requests: 0, acked: 0, failedAttempts: 0, gaveUp: 0 };
  aborted = false;

  constructor(readonly opts: LoopOptions) {
    this.client = new ShoalClient(opts.nc, opts.cluster);
  }

  phase(): string {
    return this.opts.phases?.current ?? "run";
  }

  /** Sends `msg` until an ok reply, `maxRetryMs`, or abort; returns the reply or undefined. */
  async untilAcked<R extends { node?: string }>(type: string, id: string, msg: unknown, attempts: Attempt[]): Promise<R | undefined> {
    const first = Date.now();
    const maxRetryMs = this.opts.maxRetryMs ?? 30_000;
    const timeout = this.opts.askTimeout ?? 2000;
    this.live.requests++;
    for (let n = 0; !this.aborted; n++) {
      const at = Date.now();
      try {
        const reply = await this.client.ask<R>(type, id, msg, { timeout });
        attempts.push({ at, ms: Date.now() - at, outcome: "ok", phase: this.phase(), node: reply?.node });
        this.live.acked++;
        return reply;
      } catch (err) {
        const { code, message } = describeError(err);
        attempts.push({ at, ms: Date.now() - at, outcome: code, phase: this.phase(), message });
        this.live.failedAttempts++;
      }
      if (Date.now() - first >= maxRetryMs) break;
      await sleep(Math.min(250, 10 * 2 ** Math.min(n, 5)) * (0.5 + Math.random()));
    }
    this.live.gaveUp++;
    return undefined;
  }

  async loops(body: (sender: number) => Promise<boolean>): Promise<void> {
    const think = this.opts.thinkMs ?? 0;
    await Promise.all(
      Array.from({ length: this.opts.senders }, async (_, sender) => {
        while (!this.aborted && !this.opts.until()) {
          if (!(await body(sender))) return;
          if (think > 0) await sleep(think);
        }
      }),
    );
  }
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

/** Outage: the longest time in which no attempt of any request succeeded. */
export interface Outage {
  ms: number;
  from: number;
  to: number;
  /** Phases (as recorded when each attempt ended) of the attempts in flight during the window. */
  phases: string[];
}

/** The longest window between two successful replies (or the run's edges) over all attempts. */
export function longestOutage(requests: ReadonlyArray<{ attempts: readonly Attempt[] }>): Outage {
  const all = requests.flatMap((r) => r.attempts);
  if (all.length === 0) return { ms: 0, from: 0, to: 0, phases: [] };
  const start = all.reduce((m, a) => Math.min(m, a.at), Infinity);
  const end = all.reduce((m, a) => Math.max(m, a.at + a.ms), -Infinity);
  const oks = all.filter((a) => a.outcome === "ok").map((a) => a.at + a.ms).sort((x, y) => x - y);
  let best = { from: start, to: oks[0] ?? end };
  for (const [i, t] of [...oks, end].entries()) {
    const prev = i === 0 ? start : oks[i - 1]!;
    if (t - prev > best.to - best.from) best = { from: prev, to: t };
  }
  // Attempts in flight during the window (those that failed in it, timed out across it, or ended it).
  const phases = [...new Set(all.filter((a) => a.at < best.to && a.at + a.ms > best.from).map((a) => a.phase))];
  return { ms: best.to - best.from, ...best, phases };
}

/** Failed attempts by code, and by phase then code. */
export function failures(requests: ReadonlyArray<{ attempts: readonly Attempt[] }>) {
  const byCode: Record<string, number> = {};
  const byPhase: Record<string, Record<string, number>> = {};
  for (const a of requests.flatMap((r) => r.attempts)) {
    if (a.outcome === "ok") continue;
    byCode[a.outcome] = (byCode[a.outcome] ?? 0) + 1;
    const p = (byPhase[a.phase] ??= {});
    p[a.outcome] = (p[a.outcome] ?? 0) + 1;
  }
  const inPhase = (...phases: string[]) => phases.reduce((n, p) => n + Object.values(byPhase[p] ?? {}).reduce((x, y) => x + y, 0), 0);
  return { byCode, byPhase, inPhase };
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
      a = { account: r.account, balance: b?.balance ?? Number.NaN, version: b?.version ?? Number.NaN, acked: 0, ackedCount: 0, unacked: 0, unackedCount: 0, lost: 0, duplicated: 0 };
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
export async function readBalances(nc: NatsConnection, cluster: string, accounts: readonly string[], timeout = 30_000): Promise<Map<string, { balance: number; version: number }>> {
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

/**
 * The node that serves an actor: an ok reply's `node`, or the owner an ACTOR_MOVED names.
 * `probe` must be a message that changes nothing.
 */
export async function ownerOf(nc: NatsConnection, cluster: string, type: string, id: string, probe: unknown, timeout = 10_000): Promise<string> {
  const client = new ShoalClient(nc, cluster);
  const deadline = Date.now() + timeout;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await client.ask<{ node?: unknown }>(type, id, probe, { timeout: 2000 });
      if (typeof r?.node === "string") return r.node;
    } catch (err) {
      last = err;
      const owner = ShoalError.is(err, ErrorCode.ACTOR_MOVED) ? err.details?.owner : undefined;
      if (typeof owner === "string") return owner;
    }
    await sleep(50);
  }
  throw new Error(`no owner found for ${type}/${id} in ${timeout} ms`, { cause: last });
}

/** One event of an actor's journal as stored, with the batch it came in. */
export interface JournalEntry {
  version: number;
  event: unknown;
  seq: number;
  writer: string;
}

/** Reads an actor's whole journal straight from JetStream (the stream leader), not through the store. */
export async function readJournal(nc: NatsConnection, cluster: string, type: string, id: string): Promise<JournalEntry[]> {
  const jsm = await jetstreamManager(nc);
  const stream = streamName(cluster);
  const subject = journalSubject(cluster, { type, id });
  const out: JournalEntry[] = [];
  for (let seq = 1; ; ) {
    // The server takes next_by_subj on STREAM.MSG.GET; the client's type lists only seq and last_by_subj.
    const m = await jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as unknown as { seq: number }).catch((err: unknown) => {
      if (/no message found|not found/i.test(String((err as Error)?.message))) return null;
      throw err;
    });
    if (m === null) return out;
    const version = Number(m.header.get(Headers.version));
    const events = msgpack.decode(new Uint8Array(m.data)) as unknown[];
    events.forEach((event, i) => out.push({ version: version - events.length + i + 1, event, seq: m.seq, writer: m.header.get(Headers.writer) }));
    seq = m.seq + 1;
  }
}

/** One append as it went over the wire (accepted or not), seen by a plain subscriber on the journal subject. */
export interface WriteAttempt {
  at: number;
  /** `Shoal-Writer`: `<store instance>:<n>`, so everything before the last `:` names the writing process. */
  writer: string;
  msgId: string;
  expectedSeq: string;
}

/** The process part of a writer token (one per event-store instance, so one per node process). */
export const writerOf = (token: string): string => token.slice(0, Math.max(0, token.lastIndexOf(":")));

/**
 * Records every append published for one actor, including those the stream rejects (a fenced
 * zombie's). Await `ready` before the writes of interest.
 */
export function tapJournalWrites(nc: NatsConnection, cluster: string, type: string, id: string): { writes: WriteAttempt[]; ready: Promise<void>; stop(): void } {
  const writes: WriteAttempt[] = [];
  const sub = nc.subscribe(journalSubject(cluster, { type, id }), {
    callback: (err, m) => {
      if (err !== null) return;
      const h = m.headers;
      writes.push({ at: Date.now(), writer: h?.get(Headers.writer) ?? "", msgId: h?.get("Nats-Msg-Id") ?? "", expectedSeq: h?.get("Nats-Expected-Last-Subject-Sequence") ?? "" });
    },
  });
  return { writes, ready: nc.flush(), stop: () => sub.unsubscribe() };
}

export interface JournalCheck {
  events: number;
  /** Σ deposits − Σ withdrawals over the journal. */
  sum: number;
  /** Versions are 1, 2, 3… with no gap or repeat. */
  contiguous: boolean;
  /** Txns written more than once (a zombie's or a retry's write merged). */
  repeatedTxns: string[];
  /** Acknowledged txns of this account that are not in the journal. */
  missingAcked: string[];
  /** Txns in the journal that this history never sent. */
  foreign: string[];
}

/** Checks an account's journal against the history: every acked txn exactly once, nothing twice. */
export function checkAccountJournal(history: readonly BankRequest[], account: string, journal: readonly JournalEntry[]): JournalCheck {
  const counts = new Map<string, number>();
  let sum = 0;
  for (const e of journal) {
    const ev = e.event as { deposited?: { amount: number; txn: string }; withdrew?: { amount: number; txn: string } };
    const body = ev.deposited ?? ev.withdrew;
    if (body === undefined) continue;
    sum += ev.deposited !== undefined ? body.amount : -body.amount;
    counts.set(body.txn, (counts.get(body.txn) ?? 0) + 1);
  }
  const mine = history.filter((r) => r.account === account);
  const sent = new Set(mine.map((r) => r.txn));
  return {
    events: journal.length,
    sum,
    contiguous: journal.every((e, i) => e.version === i + 1),
    repeatedTxns: [...counts].filter(([, n]) => n > 1).map(([t]) => t),
    missingAcked: mine.filter((r) => r.acked && !counts.has(r.txn)).map((r) => r.txn),
    foreign: [...counts.keys()].filter((t) => !sent.has(t)),
  };
}

export interface SequencerOptions extends LoopOptions {
  actors: readonly string[];
  /** Actors of one sender (default: `actors[sender % actors.length]`); it cycles through them. */
  assign?: (sender: number) => readonly string[];
  /** Sender names are `<prefix>-<n>` (default: random). */
  senderPrefix?: string;
  /** How long the final reports may take. Default 30 s. */
  reportTimeout?: number;
}

export interface SequencerRequest {
  sender: string;
  actor: string;
  seq: number;
  attempts: Attempt[];
  acked: boolean;
  /** The reply said the message skipped numbers. */
  violation?: boolean;
  /** The first attempt was answered `applied: false`: the number was applied before it was ever sent. */
  appliedBeforeSent?: boolean;
}

/** One (sender, actor) stream whose final `last` is not what was acknowledged. */
export interface SequenceMismatch {
  actor: string;
  sender: string;
  /** What the actor reports (0 when it does not know the sender: its state was lost). */
  reported: number;
  highestAcked: number;
  /** The stream's last message was never acknowledged (so highestAcked + 1 is also fine). */
  pending: boolean;
}

export interface SequencerResult {
  history: SequencerRequest[];
  summary: LiveSummary;
  reports: Map<string, SequencerReport>;
  /** Actors whose report could not be read. */
  unreported: string[];
  /** Violations the actors recorded (from the reports). */
  violations: Array<{ actor: string; sender: string; expected: number; got: number }>;
  /** Replies that said `violation: true`. */
  violationReplies: number;
  appliedBeforeSent: number;
  mismatches: SequenceMismatch[];
  /** Distinct nodes that served each actor's ok replies. */
  nodesPerActor: Map<string, string[]>;
  failedByCode: Record<string, number>;
  failedByPhase: Record<string, Record<string, number>>;
  failedIn(...phases: string[]): number;
  longestOutage: Outage;
}

/**
 * Each sender sends 1, 2, 3… (per actor) one at a time, retrying the same number on error.
 * At the end every actor is asked for its report, and the result says whether any number was
 * skipped (a violation) and whether each sender's `last` equals its highest acknowledged number.
 */
export function runSequencer(opts: SequencerOptions): Run<SequencerResult, SequencerRequest> {
  if (opts.actors.length === 0) throw new TypeError("runSequencer needs at least one actor");
  const d = new Driver(opts);
  const prefix = opts.senderPrefix ?? randomUUID().slice(0, 8);
  const assign = opts.assign ?? ((s: number) => [opts.actors[s % opts.actors.length]!]);
  const history: SequencerRequest[] = [];
  const next = new Map<string, number>();
  const sent = new Map<number, number>();
  const done = d
    .loops(async (s) => {
      const actors = assign(s);
      const turn = sent.get(s) ?? 0;
      sent.set(s, turn + 1);
      const actor = actors[turn % actors.length]!;
      const sender = `${prefix}-${s}`;
      const key = `${sender}\u0000${actor}`;
      const seq = (next.get(key) ?? 0) + 1;
      next.set(key, seq);
      const req: SequencerRequest = { sender, actor, seq, attempts: [], acked: false };
      history.push(req);
      const reply = await d.untilAcked<SequencerStepReply>("sequencer", actor, { sender, seq }, req.attempts);
      if (reply === undefined) return false; // a number never acknowledged ends the sender: the next would be a false gap
      req.acked = true;
      if (reply.violation === true) req.violation = true;
      if (!reply.applied && req.attempts.length === 1) req.appliedBeforeSent = true;
      return true;
    })
    .then(() => finishSequencer(d, opts, history));
  return { history, summary: () => ({ ...d.live }), abort: () => (d.aborted = true), done };
}

async function finishSequencer(d: Driver, opts: SequencerOptions, history: SequencerRequest[]): Promise<SequencerResult> {
  const summary = { ...d.live };
  const reports = new Map<string, SequencerReport>();
  const reporter = new Driver({ ...opts, senders: 0, maxRetryMs: opts.reportTimeout ?? 30_000 });
  reporter.aborted = d.aborted;
  await Promise.all(
    [...new Set(opts.actors)].map(async (actor) => {
      const r = await reporter.untilAcked<SequencerReport>("sequencer", actor, { report: {} }, []);
      if (r !== undefined) reports.set(actor, r);
    }),
  );
  const streams = new Map<string, { actor: string; sender: string; highestAcked: number; pending: boolean }>();
  const nodes = new Map<string, Set<string>>();
  for (const r of history) {
    const key = `${r.sender}\u0000${r.actor}`;
    const st = streams.get(key) ?? { actor: r.actor, sender: r.sender, highestAcked: 0, pending: false };
    if (r.acked) st.highestAcked = Math.max(st.highestAcked, r.seq);
    st.pending = !r.acked; // requests of one stream are in order: the last one decides
    streams.set(key, st);
    for (const a of r.attempts) if (a.node !== undefined) addTo(nodes, r.actor, a.node);
  }
  const mismatches: SequenceMismatch[] = [];
  for (const st of streams.values()) {
    const report = reports.get(st.actor);
    if (report === undefined) continue;
    const reported = report.senders.find((x) => x.sender === st.sender)?.last ?? 0;
    const fine = reported === st.highestAcked || (st.pending && reported === st.highestAcked + 1);
    if (!fine) mismatches.push({ ...st, reported });
  }
  const f = failures(history);
  return {
    history,
    summary,
    reports,
    unreported: opts.actors.filter((a) => !reports.has(a)),
    violations: [...reports].flatMap(([actor, r]) => r.violations.map((v) => ({ actor, ...v }))),
    violationReplies: history.filter((r) => r.violation).length,
    appliedBeforeSent: history.filter((r) => r.appliedBeforeSent).length,
    mismatches,
    nodesPerActor: new Map([...nodes].map(([a, s]) => [a, [...s].sort()])),
    failedByCode: f.byCode,
    failedByPhase: f.byPhase,
    failedIn: f.inPhase,
    longestOutage: longestOutage(history),
  };
}
