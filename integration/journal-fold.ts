import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { journalAddress, journalBatch } from "../cluster/projections/journal-batch.js";
import type { AccountEvent } from "../src/actors/account.js";
import { streamName } from "../src/nats-names.js";
import { balanceDelta, type BalanceRow } from "../src/projections/account-balances.js";

/**
 * The fold of every account journal of a cluster, read straight from the stream (no node asked):
 * what an `account-balances` view must equal once caught up. Also the number of events read.
 */
export async function foldAccountJournals(nc: NatsConnection, cluster: string): Promise<{ rows: Map<string, BalanceRow>; events: number; lastSeq: number }> {
  const prefix = `shoal.${cluster}.journal.`;
  const consumer = await jetstream(nc).consumers.get(streamName(cluster), { filter_subjects: [`${prefix}account.*`], deliver_policy: DeliverPolicy.All });
  const rows = new Map<string, BalanceRow>();
  let events = 0;
  let lastSeq = 0;
  if ((await consumer.info()).num_pending === 0) return { rows, events, lastSeq };
  for (;;) {
    const msgs = await consumer.fetch({ max_messages: 1000, expires: 2000 });
    let last = -1;
    for await (const m of msgs) {
      const address = journalAddress(m.subject, prefix.length)!;
      const batch = journalBatch({ seq: m.seq, data: m.data, headers: m.headers, time: 0 }, address);
      const row = rows.get(batch.id) ?? { balance: 0, version: 0 };
      for (const e of batch.events) row.balance += balanceDelta(e as AccountEvent);
      row.version = batch.version;
      rows.set(batch.id, row);
      events += batch.events.length;
      lastSeq = m.seq;
      last = m.info.pending;
    }
    if (last === 0) return { rows, events, lastSeq };
  }
}
