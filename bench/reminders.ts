import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { NodeProcess } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import { msgpack } from "../src/codec/msgpack.js";
import { clusterBuckets } from "../src/nats-names.js";
import { fastNodeArgs, waitStable } from "./nodes.js";
import { benchConnections } from "./connections.js";
import { emit, throughput } from "./report.js";
import { percentile } from "./stats.js";

const alarmModule = join(dirname(fileURLToPath(import.meta.url)), "alarm-actor.js");
const SHARDS = 64;
const NODES = ["rm-1", "rm-2", "rm-3"];
/** Calls in flight while setting reminders (and raw KV puts in the baseline). */
const WINDOW = 256;
/** Each reminder is due this long after its setting turn, plus up to SPREAD_MS more. */
const DELAY_MS = 45_000;
const SPREAD_MS = 60_000;

/**
 * `total` reminders (default 100k) on 3 node processes: how fast they are set through the
 * ingress (beside raw KV puts of the same size at the same window), what they cost each node in
 * memory and the bucket on disk, and how late they fire (each firing appends one event saying when
 * it was due and when it ran, read off the journal's subjects as it is written).
 */
export async function reminders(url: string, total = Number(process.env.BENCH_REMINDERS ?? 100_000)): Promise<void> {
  const cluster = `benchrem${process.pid}`;
  const nodes: NodeProcess[] = [];
  const { open, closeAll } = benchConnections(url);
  try {
    for (const id of NODES) nodes.push(NodeProcess.start({ url, id, cluster, args: [...fastNodeArgs(SHARDS), "--actors", alarmModule] }));
    const observer = await open();
    await waitStable(observer, cluster, NODES, SHARDS, 60_000);
    const rssBefore = nodes.map(rssMb);

    const raw = await rawKvPutRate(await open(), `benchrawkv${process.pid}`, Math.min(total, 20_000));

    // Every firing's event, as the journal gets it.
    const lateness: number[] = [];
    const sub = observer.subscribe(`shoal.${cluster}.journal.benchalarm.>`, {
      callback: (err, m) => {
        if (err !== null) return;
        const payload = msgpack.decode(m.data) as unknown[] | { e: unknown[] };
        for (const e of (Array.isArray(payload) ? payload : payload.e) as Array<{ due: number; at: number }>) lateness.push(e.at - e.due);
      },
    });
    await observer.flush();

    const client = new ShoalClient(await open(), cluster);
    const setRate = await throughput(total, WINDOW, (i) =>
      client.send("benchalarm", `al-${i}`, { arm: { in: DELAY_MS + (i % SPREAD_MS) } }, { timeout: 60_000 }),
    );
    const rssAfter = nodes.map(rssMb);
    const jsm = await jetstreamManager(observer);
    const bucket = (await jsm.streams.info(`KV_${clusterBuckets(cluster).reminders}`)).state;
    const deadline = Date.now() + DELAY_MS + SPREAD_MS + 120_000;
    while (lateness.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    sub.unsubscribe();

    const common = { reminders: total, nodes: NODES.length, window: WINDOW };
    emit({ name: "reminders_set", value: setRate, unit: "reminders/s", ratio: setRate / raw, baseline: `raw kv.put ${Math.round(raw)}/s`, ...common });
    emit({
      name: "reminders_bucket_bytes_each",
      value: bucket.bytes / Math.max(1, bucket.messages),
      unit: "bytes",
      messages: bucket.messages,
      bytes: bucket.bytes,
      ...common,
    });
    const grown = rssAfter.map((a, i) => a - rssBefore[i]!);
    emit({ name: "reminders_node_rss_growth", value: Math.max(...grown), unit: "MB", perNode: grown, before: rssBefore, after: rssAfter, ...common });
    emit({ name: "reminders_fired", value: lateness.length, unit: "firings", of: total, ...common });
    for (const q of [50, 99] as const) emit({ name: `reminders_lateness_p${q}`, value: percentile(lateness, q), unit: "ms", ...common });
    emit({ name: "reminders_lateness_max", value: lateness.length === 0 ? Number.NaN : lateness.reduce((m, x) => Math.max(m, x)), unit: "ms", ...common });
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await closeAll();
  }
}

/** Raw KV puts of a value the size of a stored reminder, `window` in flight: puts per second. */
async function rawKvPutRate(nc: NatsConnection, bucket: string, n: number): Promise<number> {
  const kv = await new Kvm(nc).create(bucket, { history: 1, storage: StorageType.File });
  const value = msgpack.encode({
    shard: 12,
    type: "benchalarm",
    id: "al-12345",
    name: "r",
    msg: { ring: { due: 1_767_225_600_000 } },
    due: 1_767_225_600_000,
    set: 1_767_225_555_000,
    n: 0,
  });
  try {
    return await throughput(n, WINDOW, (i) => kv.put(`12.benchalarm.${i}.cg`, value));
  } finally {
    await kv.destroy();
  }
}

/** A process's resident memory, MB (Linux). */
function rssMb(p: NodeProcess): number {
  const status = readFileSync(`/proc/${p.child.pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}
