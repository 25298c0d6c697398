/** Filling a cluster's journal fast, in the store's exact layout, for the projection bench. */
import { jetstreamManager } from "@nats-io/jetstream";
import { createInbox, headers, type NatsConnection, nuid } from "@nats-io/transport-node";
import type { AccountEvent } from "../src/actors/account.js";
import { msgpack } from "../src/codec/msgpack.js";
import { journalSubject, streamName } from "../src/nats-names.js";
import type { BalanceRow } from "../src/projections/account-balances.js";
import { batchMsgId, Headers, journalStreamConfig } from "../src/store/jetstream-layout.js";

/** Acknowledgements awaited at once while filling. */
const WINDOW = 2048;
const decoder = new TextDecoder();

/** What a fill wrote: the stream's last sequence and every account's row as the view should end. */
export interface Filled {
  lastSeq: number;
  expected: Map<string, BalanceRow>;
}

/** `acct-<k>` */
export const accountId = (k: number): string => `acct-${k}`;

/**
 * Creates the journal stream of `cluster` (as the store would) and appends `events` deposits, one
 * per batch as a deposit's turn appends it, spread over `accounts` accounts: subject
 * `shoal.<cluster>.journal.account.<token(id)>`, payload the MessagePack array of the batch's
 * events, headers Shoal-Version / Shoal-Count / Shoal-Writer and `Nats-Msg-Id` `<subject>@<version>`.
 * Published on one connection with up to {@link WINDOW} acknowledgements outstanding (no
 * expected-sequence fence: one writer, in order), each acknowledgement checked.
 * `expected` (when given) carries on a fill of the same accounts; `first` numbers its events
 * after an earlier fill's.
 */
export async function fillJournal(
  nc: NatsConnection,
  cluster: string,
  events: number,
  accounts: number,
  expected = new Map<string, BalanceRow>(),
  first = 0,
): Promise<Filled> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.info(streamName(cluster)).catch(() => jsm.streams.add(journalStreamConfig(cluster, 1)));
  const subjects = Array.from({ length: accounts }, (_, k) => journalSubject(cluster, { type: "account", id: accountId(k) }));
  const inbox = createInbox();
  let inFlight = 0;
  let failed: string | undefined;
  let wake: (() => void) | undefined;
  const sub = nc.subscribe(inbox, {
    callback: (_err, m) => {
      inFlight--;
      const ack = JSON.parse(decoder.decode(m.data)) as { seq?: number; error?: { description?: string } };
      if (ack.error !== undefined || typeof ack.seq !== "number") failed ??= ack.error?.description ?? "no sequence in ack";
      wake?.();
    },
  });
  try {
    const writer = nuid.next();
    for (let i = first; i < first + events; i++) {
      while (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r));
      if (failed !== undefined) throw new Error(`filling the journal failed: ${failed}`);
      // Spread, not round-robin: neighbours in the stream are different accounts.
      const k = (i * 7919) % accounts;
      const id = accountId(k);
      const row = expected.get(id) ?? { balance: 0, version: 0 };
      const amount = 1 + (i % 7);
      const event: AccountEvent = { deposited: { amount, txn: `f${i}` } };
      const h = headers();
      h.append(Headers.version, String(row.version + 1));
      h.append(Headers.count, "1");
      h.append(Headers.writer, writer);
      h.append("Nats-Msg-Id", batchMsgId(subjects[k]!, row.version));
      nc.publish(subjects[k]!, msgpack.encode([event]), { headers: h, reply: inbox });
      inFlight++;
      expected.set(id, { balance: row.balance + amount, version: row.version + 1 });
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
    if (failed !== undefined) throw new Error(`filling the journal failed: ${failed}`);
  } finally {
    sub.unsubscribe();
  }
  const state = (await jsm.streams.info(streamName(cluster))).state;
  return { lastSeq: state.last_seq, expected };
}

/**
 * Live traffic: one more deposit every `everyMs` (numbered from `first`, carrying on `filled`)
 * until the returned function is called; it resolves to the stream's last sequence then.
 */
export function trickle(nc: NatsConnection, cluster: string, accounts: number, filled: Filled, first: number, everyMs: number): () => Promise<number> {
  let n = first;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      filled.lastSeq = (await fillJournal(nc, cluster, 1, accounts, filled.expected, n++)).lastSeq;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await done;
    return filled.lastSeq;
  };
}
