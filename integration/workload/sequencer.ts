/**
 * The sequencer workload (invariant 3: order per sender, and in-memory state carried across a
 * move): per-sender numbers 1, 2, 3… to `sequencer` actors, and the check of their final reports
 * against what was acknowledged.
 */
import { randomUUID } from "node:crypto";
import type { SequencerReport, SequencerStepReply } from "../../src/actors/sequencer.js";
import { addTo, failures, longestOutage, type Outage } from "./history.js";
import { type Attempt, Driver, type LiveSummary, type LoopOptions, type Run } from "./traffic.js";

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
