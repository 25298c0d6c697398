import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { msgpack } from "../src/codec/msgpack.js";
import { JetStreamEventStore } from "../src/store/jetstream.js";
import { emit, throughput } from "./report.js";
import { median } from "./stats.js";

/**
 * Event-store append vs raw JetStream publish on the same server, same payload, same window.
 * The store's append carries the fencing (expected subject sequence + msg id + writer token);
 * the baseline is a plain awaited `js.publish` of one event per message, with a msg id, to a
 * stream of the same configuration. Figures:
 *
 * - `event_store_append_w<window>_<size>`: appends of one event, appends/s;
 * - `event_store_batched<n>_w<window>_<size>`: appends of `n` events in one call (one JetStream
 *   message), events/s, against the same raw figure (one event per message): what a turn that
 *   emits several events gains by writing them together.
 *
 * Shoal and raw runs alternate so neither side gets the warm JIT or the quiet moment alone.
 */
export async function eventStoreAppend(url: string): Promise<void> {
  const nc = await connect({ servers: url, noAsyncTraces: true }); // as `shoal node` connects (bin/connect.ts)
  const cluster = `bench${process.pid}`;
  const store = await JetStreamEventStore.open({ nc, cluster });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const raw = `BENCH_RAW_${process.pid}`;
  await jsm.streams.add({ name: raw, subjects: [`benchraw${process.pid}.>`], allow_direct: true, duplicate_window: 120_000_000_000 });
  let runs = 0;

  for (const size of [128, 1024]) {
    const event = eventOfSize(size);
    const payload = new Uint8Array(size).fill(120);
    for (const window of [1, 32]) {
      const total = window === 1 ? 2000 : 10_000;
      const versions = new Map<string, number>();
      // Each run appends to fresh actors and subjects so every run does the same work.
      const storeRun = (n: number, batch: number) => {
        const run = runs++;
        const events = Array.from({ length: batch }, () => event);
        // One actor per worker: a worker awaits its own append, so no two appends race on one actor.
        return throughput(n, window, async (_i, w) => {
          const id = `s${size}-w${window}-r${run}-a${w}`;
          versions.set(id, await store.append({ type: "bench", id }, events, versions.get(id) ?? 0));
        });
      };
      const rawRun = (n: number) => rawPublish(js, `benchraw${process.pid}.s${size}.w${window}.r${runs++}`, payload, n, window);

      await storeRun(300, 1);
      await storeRun(100, BATCH);
      await rawRun(300);
      const single: number[] = [];
      const batched: number[] = [];
      const rawRates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        single.push(await storeRun(total, 1));
        rawRates.push(await rawRun(total));
        batched.push((await storeRun(total / BATCH, BATCH)) * BATCH);
        rawRates.push(await rawRun(total));
      }
      const rawRate = median(rawRates);
      const baseline = `raw ${Math.round(rawRate).toLocaleString("en-US")} msgs/s`;
      const common = { window, payload: size };
      emit({ name: `raw_jetstream_publish_w${window}_${label(size)}`, value: rawRate, unit: "msgs/s", ...common });
      emit({
        name: `event_store_append_w${window}_${label(size)}`,
        value: median(single),
        unit: "appends/s",
        ratio: median(single) / rawRate,
        goal: 0.8,
        baseline,
        ...common,
      });
      emit({
        name: `event_store_batched${BATCH}_w${window}_${label(size)}`,
        value: median(batched),
        unit: "events/s",
        ratio: median(batched) / rawRate,
        goal: 2,
        baseline,
        batch: BATCH,
        ...common,
      });
    }
  }
  await jsm.streams.delete(raw);
  await store.close();
  await nc.close();
}

const BATCH = 10;
const ROUNDS = 3;

function rawPublish(js: JetStreamClient, prefix: string, payload: Uint8Array, n: number, window: number): Promise<number> {
  return throughput(n, window, (i, w) => js.publish(`${prefix}.a${w}`, payload, { msgID: `${prefix}-${i}` }));
}

/** An event whose MessagePack encoding is about `size` bytes, like the raw payload beside it. */
function eventOfSize(size: number): unknown {
  const shell = msgpack.encode({ deposited: { amount: 1, txn: "" } }).byteLength;
  // Strings past 31 bytes take a 2-byte (str8) or 3-byte (str16) length prefix.
  const pad = size - shell + 1 - (size > 255 ? 3 : 2);
  return { deposited: { amount: 1, txn: "x".repeat(pad) } };
}

const label = (size: number) => (size >= 1024 ? `${size / 1024}kb` : `${size}b`);
