import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { NodeProcess } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import { journalStreamConfig } from "../src/store/jetstream-layout.js";
import { alternate, perSecond, type Run, timed } from "./compare.js";
import { CpuTally, cpuFigure } from "./cpu.js";
import { batchSizes, journalBatches, untilBatches } from "./journal-count.js";
import { waitStable } from "./nodes.js";
import { benchConnections } from "./connections.js";
import { emit, type Figure, throughput } from "./report.js";
import { median, percentile } from "./stats.js";

const SHARDS = 64;
const ACCOUNTS = 1000;
/** Every account starts with this much; transfers move 1, so none runs short. */
const SEED = 1_000_000_000;
const NODE_COUNTS = [1, 3] as const;
const WINDOWS = [16, 128] as const;
const TRANSFERS: Record<number, number> = { 16: 4000, 128: 10_000 };
const WARMUP = 3000;
const TIMEOUT = 30_000;
/** How long a join may take to settle (node start, election, handoffs) on a busy machine. */
const SETTLE = 60_000;
/** Transfer txn ids have one length, so every appended batch of a kind has one size. */
const TXN_DIGITS = 9;

/**
 * Messages between actors through the outbox: the built-in `account`'s `transfer`, with 1 and 3
 * `shoal node` processes and a `ShoalClient` (routing by the shard map) outside them. A transfer's
 * turn appends its debit with the credit in the batch's outbox (one fenced JetStream append),
 * answers, then the node delivers the credit to the receiving account, whose turn appends it
 * (a second append) — with 3 nodes most credits cross to another node. So one transfer is
 * 2 appends + 1 hop between actors.
 *
 * Transfers among 1,000 seeded accounts (each account sends in turn, to a spread of others) at
 * windows 16 and 128. A round ends when the journal holds both batches of every transfer (its
 * message count, polled every 1 ms once the last reply is in): transfers per second end to end.
 * The reply's rate and latency are the debit's (client → owner → append → client).
 *
 * Baselines, alternated with the transfers: two awaited `js.publish` in a row per op (the debit's
 * batch size to the sender's subject, then the credit's to the receiver's) and one (the debit's
 * only), with a msg id, to a stream configured like the journal (file, R1), at the same window.
 */
export async function outbox(url: string, serverPid?: number): Promise<void> {
  const cluster = `benchob${process.pid}`;
  const rawStream = `BENCH_RAW_OUTBOX_${process.pid}`;
  const rawPrefix = `benchobjs${process.pid}`;
  const { open, closeAll } = benchConnections(url);
  const nodes: NodeProcess[] = [];
  const server = serverPid === undefined ? {} : { server: serverPid };
  try {
    const observer = await open();
    const client = new ShoalClient(await open(), cluster);
    const jsConn = await open();
    const js = jetstream(jsConn);
    const jsm = await jetstreamManager(jsConn);
    await jsm.streams.add({ ...journalStreamConfig(cluster, 1), name: rawStream, subjects: [`${rawPrefix}.>`] });

    const ids = Array.from({ length: ACCOUNTS }, (_, k) => `ob-${k}`);
    // Op i: account i mod N sends to another, spread over all of them (never itself).
    const from = (i: number) => i % ACCOUNTS;
    const to = (i: number) => (from(i) + 1 + ((i * 7919) % (ACCOUNTS - 1))) % ACCOUNTS;
    let txns = 0;
    const txn = () => `t${String(txns++).padStart(TXN_DIGITS, "0")}`;
    const transfer = (i: number) => client.ask("account", ids[from(i)]!, { transfer: { to: ids[to(i)]!, amount: 1, txn: txn() } }, { timeout: TIMEOUT });
    const replyRates: number[] = [];
    const lags: number[] = [];
    const transfers: Run = async (n, w, lat) => {
      const target = (await journalBatches(jsm, cluster)) + 2 * n;
      const started = process.hrtime.bigint();
      replyRates.push(await timed(n, w, lat, transfer));
      const replied = process.hrtime.bigint();
      const done = await untilBatches(jsm, cluster, target, TIMEOUT);
      lags.push(Number(done - replied) / 1e6);
      return n / (Number(done - started) / 1e9);
    };
    const body = { debit: new Uint8Array(0), credit: new Uint8Array(0) };
    let published = 0;
    const publish = (i: number, side: "debit" | "credit") =>
      js.publish(`${rawPrefix}.${ids[side === "debit" ? from(i) : to(i)]!}`, body[side], { msgID: `${rawPrefix}-${published++}` });
    const raw2: Run = (n, w, lat) =>
      timed(n, w, lat, async (i) => {
        await publish(i, "debit");
        await publish(i, "credit");
      });
    const raw1: Run = (n, w, lat) => timed(n, w, lat, (i) => publish(i, "debit"));

    for (const count of NODE_COUNTS) {
      while (nodes.length < count) nodes.push(NodeProcess.start({ url, id: `ob-${nodes.length + 1}`, cluster, args: ["--shards", String(SHARDS)] }));
      const live = nodes.map((p) => p.id);
      await waitStable(observer, cluster, live, SHARDS, SETTLE);
      if (count === NODE_COUNTS[0]) {
        await throughput(ACCOUNTS, 128, (i) => client.ask("account", ids[i]!, { deposit: { amount: SEED, txn: `seed-${i}` } }, { timeout: TIMEOUT }));
      }
      // Every account active on its owner and the client on the newest map, then measure.
      await transfers(WARMUP, 128, []);
      if (body.debit.length === 0) {
        const sizes = await batchSizes(jsm, cluster);
        body.debit = new Uint8Array(sizes.transferred!).fill(120);
        body.credit = new Uint8Array(sizes.credited!).fill(120);
      }
      await raw2(WARMUP, 128, []);
      await raw1(WARMUP, 128, []);
      const procs = Object.fromEntries(nodes.map((p) => [p.id, p.pid]));

      for (const window of WINDOWS) {
        const cpu = {
          shoal: new CpuTally({ client: undefined, ...procs, ...server }),
          raw2: new CpuTally({ publisher: undefined, ...server }),
          raw1: new CpuTally({ publisher: undefined, ...server }),
        };
        replyRates.length = 0;
        lags.length = 0;
        const r = await alternate(TRANSFERS[window]!, window, { shoal: transfers, raw2, raw1 }, { cpu });
        const tag = `n${count}_w${window}`;
        const p = (side: keyof typeof r.lat, q: number) => percentile(r.lat[side], q);
        const ms = (side: keyof typeof r.lat, q: number) => `${p(side, q).toFixed(3)} ms`;
        const what = { nodes: count, window, accounts: ACCOUNTS, debitBytes: body.debit.length, creditBytes: body.credit.length, server: "same" };
        const main: Figure = {
          name: `outbox_transfers_${tag}`,
          value: r.rate.shoal,
          unit: "transfers/s",
          ratio: r.rate.shoal / r.rate.raw2,
          baseline: `2 js.publish in a row ${perSecond(r.rate.raw2)}`,
          repliesPerS: median(replyRates),
          creditLagMs: median(lags),
          p50Ms: p("shoal", 50),
          p99Ms: p("shoal", 99),
          note: "end to end: from the first transfer to the journal holding every debit and its credit (2 appends + 1 hop between actors per transfer)",
          ...what,
        };
        emit(main);
        emit({ ...main, name: `outbox_transfers_vs_1pub_${tag}`, ratio: r.rate.shoal / r.rate.raw1, baseline: `1 js.publish ${perSecond(r.rate.raw1)}` });
        emit({
          name: `outbox_transfer_replies_${tag}`,
          value: median(replyRates),
          unit: "replies/s",
          note: "transfers answered per second (the debit stored; its credit follows)",
          creditLagMs: median(lags),
          ...what,
        });
        for (const q of [50, 99]) {
          emit({
            name: `outbox_transfer_p${q}_${tag}`,
            value: p("shoal", q),
            unit: "ms",
            baseline: `2 raw ${ms("raw2", q)}, 1 raw ${ms("raw1", q)}`,
            note: "the transfer's reply (client → owner → the debit appended → client)",
            ...what,
          });
        }
        emit({ name: `raw_jetstream_2publish_${tag}`, value: r.rate.raw2, unit: "ops/s", note: "two awaited js.publish in a row per op", ...what });
        emit({
          name: `raw_jetstream_publish_outbox_${tag}`,
          value: r.rate.raw1,
          unit: "msgs/s",
          note: "one awaited js.publish of the debit's size per op",
          ...what,
        });
        const figures = [
          [cpuFigure(`outbox_cpu_${tag}`, "transfer", cpu.shoal, cpu.raw2, what), "2 js.publish"],
          [cpuFigure(`outbox_cpu_vs_1pub_${tag}`, "transfer", cpu.shoal, cpu.raw1, what), "1 js.publish"],
        ] as const;
        for (const [f, label] of figures) if (f !== undefined) emit({ ...f, baseline: String(f.baseline).replace("raw", label) });
      }
    }
    await checkConserved(client, ids);
    await jsm.streams.delete(rawStream).catch(() => undefined);
    await client.close();
  } finally {
    await closeAll();
    await Promise.all(nodes.map((p) => p.stop()));
  }
}

/** The bench's own check that it counted what it meant to: every credit arrived, no money made or lost. */
async function checkConserved(client: ShoalClient, ids: string[]): Promise<void> {
  const balances = await Promise.all(ids.map((id) => client.ask<{ balance: number }>("account", id, { balance: {} }, { timeout: TIMEOUT })));
  const total = balances.reduce((a, b) => a + b.balance, 0);
  if (total !== SEED * ids.length) console.warn(`outbox bench: the accounts hold ${total}, not ${SEED * ids.length}: credits missing or doubled`);
}
