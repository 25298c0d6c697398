import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { JetStreamEventStore } from "../src/store/jetstream.js";
import { emit, throughput } from "./report.js";

/**
 * Event-store append vs raw JetStream publish on the same server, same payload, same window.
 * The store's append carries the fencing (expected subject sequence + msg id); the baseline
 * is a plain awaited `js.publish` to a stream of the same configuration.
 */
export async function eventStoreAppend(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const cluster = `bench${process.pid}`;
  const store = await JetStreamEventStore.open({ nc, cluster });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const raw = `BENCH_RAW_${process.pid}`;
  await jsm.streams.add({ name: raw, subjects: [`benchraw${process.pid}.>`], allow_direct: true, duplicate_window: 120_000_000_000 });
  const event = { deposited: { amount: 1, txn: "x".repeat(90) } }; // ~128 B encoded
  const payload = new Uint8Array(128).fill(120);

  for (const window of [1, 32]) {
    const total = window === 1 ? 2000 : 10_000;
    const versions = new Map<string, number>();
    let runs = 0;
    // Each run appends to fresh actors and subjects so every run does the same work.
    const storeRun = (n: number) => {
      const run = runs++;
      // One actor per worker: a worker awaits its own append, so no two appends race on one actor.
      return throughput(n, window, async (_i, w) => {
        const id = `w${window}-r${run}-a${w}`;
        versions.set(id, await store.append({ type: "bench", id }, [event], versions.get(id) ?? 0));
      });
    };
    const rawRun = (n: number) => {
      const run = runs++;
      return throughput(n, window, (i, w) =>
        js.publish(`benchraw${process.pid}.w${window}.r${run}.a${w}`, payload, { msgID: `w${window}-r${run}-${i}` }),
      );
    };
    // Warm both paths, then alternate so neither side gets the warm JIT or the quiet moment alone.
    await storeRun(300);
    await rawRun(300);
    const storeRates: number[] = [];
    const rawRates: number[] = [];
    for (let round = 0; round < 2; round++) {
      storeRates.push(await storeRun(total));
      rawRates.push(await rawRun(total));
    }
    const storeRate = mean(storeRates);
    const rawRate = mean(rawRates);
    emit({ name: `event_store_append_w${window}`, value: storeRate, unit: "appends/s", window, payload: 128 });
    emit({ name: `raw_jetstream_publish_w${window}`, value: rawRate, unit: "msgs/s", window, payload: 128 });
    emit({ name: `event_store_vs_raw_w${window}`, value: storeRate / rawRate, unit: "ratio", ratio: storeRate / rawRate, goal: 0.8 });
  }
  await jsm.streams.delete(raw);
  await store.close();
  await nc.close();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
