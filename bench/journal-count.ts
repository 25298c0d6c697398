/** Reading a cluster's journal stream from the bench: how many batches it holds, and how big they are. */
import type { JetStreamManager } from "@nats-io/jetstream";
import { waitFor } from "../local-nats/index.js";
import { msgpack } from "../src/codec/msgpack.js";
import { streamName } from "../src/nats-names.js";

/** Batches in the cluster's journal (one JetStream message per appended turn; snapshots live in KV). */
export async function journalBatches(jsm: JetStreamManager, cluster: string): Promise<number> {
  return (await jsm.streams.info(streamName(cluster))).state.messages;
}

/** Polls every `interval` ms until the journal holds `target` batches; the moment (hrtime) it was seen. */
export async function untilBatches(jsm: JetStreamManager, cluster: string, target: number, timeout: number, interval = 1): Promise<bigint> {
  let seen = 0;
  const reached = async () => {
    seen = await journalBatches(jsm, cluster);
    return seen >= target;
  };
  await waitFor(reached, {
    timeout,
    interval,
    message: `the journal of ${cluster} never reached ${target} batches (last seen ${seen})`,
  });
  return process.hrtime.bigint();
}

/**
 * The payload size of the journal's newest batches, by their first event's name (`transferred`,
 * `credited`…), the median of up to `n` each: what a raw baseline should publish to move as many
 * bytes as the turns' appends.
 */
export async function batchSizes(jsm: JetStreamManager, cluster: string, n = 64): Promise<Record<string, number>> {
  const stream = streamName(cluster);
  const last = (await jsm.streams.info(stream)).state.last_seq;
  const sizes: Record<string, number[]> = {};
  for (let seq = last; seq > 0 && seq > last - 4 * n; seq--) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m === null) continue;
    const body = msgpack.decode(m.data) as unknown[] | { e: unknown[] };
    const events = Array.isArray(body) ? body : body.e;
    const kind = Object.keys(events[0] as object)[0] ?? "?";
    const list = sizes[kind] ?? [];
    sizes[kind] = list;
    if (list.length < n) list.push(m.data.length);
  }
  return Object.fromEntries(Object.entries(sizes).map(([k, xs]) => [k, xs.sort((a, b) => a - b)[xs.length >> 1]!]));
}
