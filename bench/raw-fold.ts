/** The projection bench's raw baseline: what a plain nats.js reader of the journal would write. */
import { jetstream } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AccountEvent } from "../src/actors/account.js";
import { msgpack } from "../src/codec/msgpack.js";
import { streamName } from "../src/nats-names.js";
import { type BalanceRow, balanceDelta } from "../src/projections/account-balances.js";

/** Messages per fetch: the projection runner's default. */
const FETCH = 256;

/**
 * One ordered consumer on the cluster's journal, filtered on `account` (or on the whole journal,
 * other types skipped here, with `wholeJournal`), reading from the start in
 * fetches of {@link FETCH}: each batch's events folded into `{balance, version}` per account, then
 * every account the fetch changed written with `kv.put`, all of them in flight together, awaited
 * before the next fetch. No checkpoint, no exactly-once: a crash replays from wherever the
 * reader decides. `kv`: a bucket like the projection's (history 1, file). Resolves once the message at `lastSeq` is folded and its puts acknowledged,
 * with the rows (for checking) and the puts made.
 */
export async function rawFold(
  nc: NatsConnection,
  kv: KV,
  cluster: string,
  lastSeq: number,
  wholeJournal = false,
): Promise<{ rows: Map<string, BalanceRow>; puts: number }> {
  const prefix = `shoal.${cluster}.journal.account.`;
  const filter = wholeJournal ? `shoal.${cluster}.journal.>` : `${prefix}*`;
  const consumer = await jetstream(nc).consumers.get(streamName(cluster), { filter_subjects: [filter] });
  const rows = new Map<string, BalanceRow>();
  let seen = 0;
  let puts = 0;
  while (seen < lastSeq) {
    const changed = new Set<string>();
    for await (const m of await consumer.fetch({ max_messages: FETCH, expires: 1000 })) {
      seen = m.seq;
      if (!m.subject.startsWith(prefix)) continue;
      const id = Buffer.from(m.subject.slice(prefix.length), "base64url").toString("utf8");
      const version = Number(m.headers?.get("Shoal-Version"));
      const payload = msgpack.decode(m.data) as AccountEvent[] | { e: AccountEvent[] };
      const events = Array.isArray(payload) ? payload : payload.e;
      const row = rows.get(id) ?? { balance: 0, version: 0 };
      for (const e of events) row.balance += balanceDelta(e);
      row.version = version;
      rows.set(id, row);
      changed.add(id);
    }
    await Promise.all([...changed].map((id) => kv.put(`v.${Buffer.from(id).toString("base64url")}`, JSON.stringify(rows.get(id)))));
    puts += changed.size;
  }
  return { rows, puts };
}
