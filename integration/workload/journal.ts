/**
 * An actor's journal as JetStream holds it, read straight from the stream (not through the
 * store), every append as it went over the wire (accepted or not), and the check of an account's
 * journal against the bank's history: every acknowledged txn exactly once, nothing twice.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { msgpack } from "../../src/codec/msgpack.js";
import { journalSubject, streamName } from "../../src/nats-names.js";
import { Headers } from "../../src/store/jetstream-layout.js";
import type { BankRequest } from "./bank.js";

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
    // A batch is the array of its events, or {e: events, m: the runtime's bookkeeping} (layout).
    const payload = msgpack.decode(new Uint8Array(m.data));
    const events = (Array.isArray(payload) ? payload : (payload as { e: unknown[] }).e) as unknown[];
    for (const [i, event] of events.entries()) out.push({ version: version - events.length + i + 1, event, seq: m.seq, writer: m.header.get(Headers.writer) });
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
export function tapJournalWrites(
  nc: NatsConnection,
  cluster: string,
  type: string,
  id: string,
): { writes: WriteAttempt[]; ready: Promise<void>; stop(): void } {
  const writes: WriteAttempt[] = [];
  const sub = nc.subscribe(journalSubject(cluster, { type, id }), {
    callback: (err, m) => {
      if (err !== null) return;
      const h = m.headers;
      writes.push({
        at: Date.now(),
        writer: h?.get(Headers.writer) ?? "",
        msgId: h?.get("Nats-Msg-Id") ?? "",
        expectedSeq: h?.get("Nats-Expected-Last-Subject-Sequence") ?? "",
      });
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
