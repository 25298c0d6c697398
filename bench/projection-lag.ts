import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { waitFor } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import type { Checkpoint } from "../src/projection/layout.js";
import { parseViewKey } from "../src/projection/layout.js";
import type { BalanceRow } from "../src/projections/account-balances.js";
import { alternate, perSecond, ROUNDS, type Run, timed } from "./compare.js";
import { CpuTally, cpuFigure } from "./cpu.js";
import { type ProjectionNode, SHARDS, startProjectionNodes } from "./projection-node.js";
import { balancesBucket, checkpoints } from "./projection-watch.js";
import { emit } from "./report.js";
import { median, percentile } from "./stats.js";

/** `BENCH_PROJECTION_WHOLE_JOURNAL=1`: the projection reads `journal.>`, not `journal.account.*` (see projections.ts). */
export const WHOLE_JOURNAL = process.env.BENCH_PROJECTION_WHOLE_JOURNAL === "1";
const NODES = 3;
const PARTITIONS = 4;
const ACCOUNTS = 1000;
const WINDOWS = [16, 128] as const;
const DEPOSITS: Record<number, number> = { 16: 3000, 128: 8000 };
const TIMEOUT = 30_000;
/** Longest the view may take to show a round's last deposit. */
const CATCH_UP = 120_000;
/** How often the checkpoints are read during a round (ms). */
const SAMPLE_MS = 100;

/**
 * The view under a bank load: `deposit`s from a `ShoalClient` (routing by the map, as in the
 * ingress part) to 1,000 accounts on two clusters of 3 node processes each, one without
 * projections and one with `account-balances` (4 partitions), in alternated rounds at windows 16
 * and 128. The deposit rate is the replies'; the lag of a deposit runs from its reply (which
 * carries the account's version) to the moment a KV watch on the view (what a pushed reader sees)
 * delivers that account's row at that version or later — 0 when it came before the reply. After
 * each round the bench waits until every deposit of it is in the view (the end-to-end rate counts
 * that wait). Meanwhile every partition's checkpoint is read each {@link SAMPLE_MS}: its
 * `behindMs` and `pending` as committed. CPU per deposit: the three nodes and the server, with
 * the projection (deposits and catching up) against without.
 */
export async function projectionLag(url: string, open: () => Promise<NatsConnection>, serverPid?: number): Promise<void> {
  const server = serverPid === undefined ? {} : { server: serverPid };
  const plainCluster = `benchpj${process.pid}a`;
  const viewCluster = `benchpj${process.pid}b`;
  const nc = await open();
  const nodes: ProjectionNode[] = [];
  try {
    const common = { url, shards: SHARDS };
    nodes.push(...(await startProjectionNodes(nc, NODES, { ...common, cluster: plainCluster, prefix: "pa", partitions: 0 })));
    nodes.push(
      ...(await startProjectionNodes(nc, NODES, { ...common, cluster: viewCluster, prefix: "pb", partitions: PARTITIONS, wholeJournal: WHOLE_JOURNAL })),
    );
    const plain = new ShoalClient(await open(), plainCluster);
    const viewed = new ShoalClient(await open(), viewCluster);
    const bucket = await balancesBucket(await open(), viewCluster);
    const jsm = await jetstreamManager(nc);

    // What the view shows: per account, the newest version and when it was seen; lags as deposits are shown.
    const shown = new Map<string, number>();
    const waiting = new Map<string, { version: number; at: number }[]>();
    let lags: number[] = [];
    // Each checkpoint as the watch delivers it, less the time its commit began: the commit's round
    // trip plus the watch's own delivery (an upper bound of what the watch adds to the lags).
    let watchDelays: number[] = [];
    let unresolved = 0;
    const watch = await bucket.kv.watch({ key: "b1.>" });
    void (async () => {
      for await (const e of watch) {
        if (e.key.startsWith("b1.cp.") && e.operation === "PUT") watchDelays.push(Date.now() - (JSON.parse(e.string()) as Checkpoint).at);
        const id = parseViewKey(1, e.key);
        if (id === undefined || e.operation !== "PUT") continue;
        const at = performance.now();
        const version = (JSON.parse(e.string()) as BalanceRow).version;
        shown.set(id, Math.max(version, shown.get(id) ?? 0));
        const list = waiting.get(id);
        while (list !== undefined && list.length > 0 && list[0]!.version <= version) {
          lags.push(at - list.shift()!.at);
          unresolved--;
        }
      }
    })();

    let txns = 0;
    const deposit = (client: ShoalClient, i: number) =>
      client.ask<{ version: number }>(
        "account",
        `lag-${i % ACCOUNTS}`,
        { deposit: { amount: 1, txn: `d${String(txns++).padStart(9, "0")}` } },
        { timeout: TIMEOUT },
      );
    const track = async (i: number) => {
      const { version } = await deposit(viewed, i);
      const at = performance.now();
      const id = `lag-${i % ACCOUNTS}`;
      if ((shown.get(id) ?? 0) >= version) lags.push(0);
      else {
        unresolved++;
        const list = waiting.get(id) ?? [];
        waiting.set(id, list);
        list.push({ version, at });
      }
    };
    const endToEnd: number[] = [];
    const samples: Checkpoint[][] = [];
    const runs: Record<"without" | "with", Run> = {
      without: (n, w, lat) => timed(n, w, lat, (i) => deposit(plain, i)),
      with: async (n, w, lat) => {
        const started = performance.now();
        const sampler = setInterval(() => {
          void checkpoints(bucket, 1, PARTITIONS).then((cps) => samples.push(cps.filter((c): c is Checkpoint => c !== undefined)));
        }, SAMPLE_MS);
        try {
          const rate = await timed(n, w, lat, track);
          await waitFor(() => unresolved === 0, { timeout: CATCH_UP, interval: 5, message: `${unresolved} deposits never showed in the view` });
          endToEnd.push(n / ((performance.now() - started) / 1000));
          return rate;
        } finally {
          clearInterval(sampler);
        }
      },
    };
    // Warm-up: every account active on its owner, the clients on the newest map, the view's rows read once.
    await runs.without(2 * ACCOUNTS, 128, []);
    await runs.with(2 * ACCOUNTS, 128, []);

    // The nodes and the server: the client's deposits cost the same both ways, and with the
    // projection the bench process also runs the watch that measures the lag.
    const nodesOf = (prefix: string) => ({
      ...Object.fromEntries(nodes.filter((p) => p.id.startsWith(prefix)).map((p) => [p.id, p.pid])),
      ...server,
    });
    for (const window of WINDOWS) {
      lags = [];
      watchDelays = [];
      samples.length = 0;
      endToEnd.length = 0;
      const cpu = { without: new CpuTally(nodesOf("pa")), with: new CpuTally(nodesOf("pb")) };
      const stored = async () => (await jsm.streams.info(`KV_${bucket.name}`)).state.last_seq;
      const storedBefore = await stored();
      const r = await alternate(DEPOSITS[window]!, window, runs, { cpu });
      const storedPerDeposit = ((await stored()) - storedBefore) / (ROUNDS * DEPOSITS[window]!);
      const what = { nodes: NODES, partitions: PARTITIONS, window, accounts: ACCOUNTS, wholeJournal: WHOLE_JOURNAL, server: "same" };
      const behind = samples.map((cps) => Math.max(0, ...cps.map((c) => c.behindMs)));
      const pending = samples.map((cps) => Math.max(0, ...cps.map((c) => c.pending)));
      emit({
        name: `projection_load_deposits_w${window}`,
        value: r.rate.with,
        unit: "deposits/s",
        ratio: r.rate.with / r.rate.without,
        baseline: `without the projection ${perSecond(r.rate.without)}`,
        endToEndPerS: median(endToEnd),
        storedPerDeposit,
        p99Ms: percentile(r.lat.with, 99),
        p99MsWithout: percentile(r.lat.without, 99),
        note: "deposit replies per second; endToEndPerS: until the view shows every deposit of the round; storedPerDeposit: view writes and checkpoints stored per deposit",
        ...what,
      });
      for (const q of [50, 99] as const) {
        emit({
          name: `projection_lag_p${q}_w${window}`,
          value: percentile(lags, q),
          unit: "ms",
          samples: lags.length,
          commitToWatchMs: percentile(watchDelays, q),
          note: "a deposit's reply → the view (KV watch) at its version; commitToWatchMs: a checkpoint's commit begun → the watch has it",
          ...what,
        });
      }
      emit({ name: `projection_lag_max_w${window}`, value: Math.max(...lags), unit: "ms", ...what });
      emit({
        name: `projection_checkpoint_behind_p99_w${window}`,
        value: percentile(behind, 99),
        unit: "ms",
        p50: percentile(behind, 50),
        pendingP50: percentile(pending, 50),
        pendingP99: percentile(pending, 99),
        pendingMax: Math.max(0, ...pending),
        samples: samples.length,
        note: "checkpoints' behindMs (and pending) during the rounds, the largest over the partitions per sample",
        ...what,
      });
      const f = cpuFigure(`projection_load_cpu_w${window}`, "deposit", cpu.with, cpu.without, what);
      if (f !== undefined) emit({ ...f, baseline: String(f.baseline).replace("raw", "without the projection") });
    }
    watch.stop();
    await Promise.all([plain.close(), viewed.close()]);
  } finally {
    await Promise.all(nodes.map((p) => p.stop()));
  }
}
