import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { streamName } from "../src/nats-names.js";
import { projectionBucket } from "../src/projection/layout.js";
import { benchConnections } from "./connections.js";
import { CpuTally, cpuFigure } from "./cpu.js";
import { fillJournal } from "./journal-fill.js";
import { projectionLag } from "./projection-lag.js";
import { SHARDS, startProjectionNodes } from "./projection-node.js";
import { projectionRebuild } from "./projection-rebuild.js";
import { balancesBucket, closeGate, openGate, PROJECTION, viewMismatches, waitCaughtUp, waitClaimed } from "./projection-watch.js";
import { rawFold } from "./raw-fold.js";
import { emit } from "./report.js";

const ACCOUNTS = 2000;
/** Deposits in the journal before each throughput run (`BENCH_PROJECTION_EVENTS`). */
const EVENTS = Number(process.env.BENCH_PROJECTION_EVENTS ?? 100_000);
const CATCH_UP = 300_000;
/**
 * Nodes × partitions of the throughput runs. `whole`: the projection reads the whole journal
 * (`from: {subjects: [">"]}`) and the raw reader has no filter, where the others filter on
 * `account.*` (see BENCHMARKS.md: the server's cost of a wildcard filter).
 */
const SETUPS = [
  { nodes: 1, partitions: 1, whole: false },
  { nodes: 1, partitions: 4, whole: false },
  { nodes: 3, partitions: 4, whole: false },
  { nodes: 3, partitions: 4, whole: true },
] as const;
const THROUGHPUT_GOAL = 0.8;

/**
 * Read-side projections (`account-balances`, the shipped example) on node processes
 * (`projection-node.ts`): how fast partitions turn the journal into their exactly-once KV view,
 * against a raw JetStream reader doing the same fold into a KV bucket; how far the view trails a
 * bank load of deposits (`projection-lag.ts`); how long a blue-green rebuild of a large journal
 * takes (`projection-rebuild.ts`).
 */
export async function projections(url: string, serverPid?: number): Promise<void> {
  const { open, closeAll } = benchConnections(url);
  try {
    const nc = await open();
    await throughputs(url, nc, serverPid);
    await projectionLag(url, open, serverPid);
    await projectionRebuild(url, nc, serverPid);
  } finally {
    await closeAll();
  }
}

/**
 * For each setup, a fresh cluster whose journal holds {@link EVENTS} deposits over
 * {@link ACCOUNTS} accounts (`journal-fill.ts`). First the raw reader folds it from the start
 * (`raw-fold.ts`), then the nodes start with the projection gated (`closeGate`); once the
 * cluster is settled and every partition claimed, the gate opens, and the run lasts until every
 * checkpoint is at the stream's last message (the commit time the checkpoint records). Events
 * per second both ways; CPU per event over the reader (the bench process) or the nodes, and the
 * server.
 */
async function throughputs(url: string, nc: NatsConnection, serverPid?: number): Promise<void> {
  const server = serverPid === undefined ? {} : { server: serverPid };
  const jsm = await jetstreamManager(nc);
  for (const [n, setup] of SETUPS.entries()) {
    const cluster = `benchpj${process.pid}t${n}`;
    const tag = `n${setup.nodes}_p${setup.partitions}${setup.whole ? "_whole" : ""}`;
    const what = { ...setup, events: EVENTS, accounts: ACCOUNTS, filter: setup.whole ? "journal.>" : "journal.account.*", server: "same" };
    const fillStart = Date.now();
    const filled = await fillJournal(nc, cluster, EVENTS, ACCOUNTS);
    const fillRate = EVENTS / ((Date.now() - fillStart) / 1000);

    // Raw: one ordered consumer and pipelined kv.put per fetch.
    const rawKv = await new Kvm(nc).create(`benchpjraw${process.pid}t${n}`, { history: 1, storage: StorageType.File });
    const rawCpu = new CpuTally({ reader: undefined, ...server });
    const rawStart = process.hrtime.bigint();
    const raw = await rawCpu.measure(EVENTS, () => rawFold(nc, rawKv, cluster, filled.lastSeq, setup.whole));
    const rawRate = EVENTS / (Number(process.hrtime.bigint() - rawStart) / 1e9);
    await rawKv.destroy();
    const rawWrong = [...filled.expected].filter(([id, want]) => raw.rows.get(id)?.balance !== want.balance).length;

    // Shoal: the nodes, gated until settled and claimed.
    const bucket = await balancesBucket(nc, cluster);
    await closeGate(bucket, setup.partitions);
    const nodes = await startProjectionNodes(nc, setup.nodes, {
      url,
      cluster,
      prefix: "pj",
      shards: SHARDS,
      partitions: setup.partitions,
      wholeJournal: setup.whole,
    });
    try {
      await waitClaimed(bucket, 1, setup.partitions);
      const cpu = new CpuTally({ ...Object.fromEntries(nodes.map((p) => [p.id, p.pid])), ...server });
      let opened = 0;
      const cps = await cpu.measure(EVENTS, async () => {
        opened = await openGate(bucket);
        return waitCaughtUp(bucket, 1, setup.partitions, filled.lastSeq, CATCH_UP);
      });
      const seconds = (Math.max(...cps.map((c) => c.at)) - opened) / 1000;
      const rate = EVENTS / seconds;
      const wrong = await viewMismatches(bucket, 1, filled.expected);
      if (wrong > 0 || rawWrong > 0) console.warn(`projections bench: ${wrong} view rows wrong, ${rawWrong} raw rows wrong (${tag})`);
      const writes = (await jsm.streams.info(`KV_${bucket.name}`)).state.last_seq;
      emit({
        name: `projection_events_${tag}`,
        value: rate,
        unit: "events/s",
        ratio: rate / rawRate,
        baseline: `raw consumer + kv.put ${Math.round(rawRate).toLocaleString("en-US")}/s`,
        goal: THROUGHPUT_GOAL,
        seconds,
        rawSeconds: EVENTS / rawRate,
        viewWrites: writes,
        rawPuts: raw.puts,
        viewRowsWrong: wrong,
        fillRate: Math.round(fillRate),
        note: "from the gate opening to the last checkpoint at the stream's end; every partition reads every account event",
        ...what,
      });
      emit({
        name: `raw_projection_events_${tag}`,
        value: rawRate,
        unit: "events/s",
        note: "ordered consumer, fetch 256, kv.put of each changed account per fetch, in flight together",
        ...what,
      });
      const f = cpuFigure(`projection_cpu_${tag}`, "event", cpu, rawCpu, what);
      if (f !== undefined) emit(f);
    } finally {
      await Promise.all(nodes.map((p) => p.stop()));
      await jsm.streams.delete(streamName(cluster)).catch(() => undefined);
      await jsm.streams.delete(`KV_${projectionBucket(cluster, PROJECTION)}`).catch(() => undefined);
    }
  }
}
