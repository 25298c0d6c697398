import type { ChildProcess } from "node:child_process";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { NodeProcess } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import { encodeJson } from "../src/codec/json.js";
import { msgpack } from "../src/codec/msgpack.js";
import { journalStreamConfig } from "../src/store/jetstream-layout.js";
import { alternate, perSecond, type Run, timed } from "./compare.js";
import { CpuTally, cpuFigure } from "./cpu.js";
import { statusOf, waitStable } from "./nodes.js";
import { startRawPeer, stopChild } from "./peers.js";
import { benchConnections } from "./connections.js";
import { emit } from "./report.js";
import { silentLink } from "./silent-link.js";
import { mean, percentile } from "./stats.js";

const SHARDS = 64;
const ACCOUNTS = 1000;
const NODE_COUNTS = [1, 2, 3] as const;
const ASK_WINDOWS = [1, 128] as const;
const ASKS: Record<number, number> = { 1: 1500, 128: 20_000 };
const DEPOSIT_WINDOWS = [16, 128] as const;
const DEPOSITS: Record<number, number> = { 16: 4000, 128: 10_000 };
const TIMEOUT = 30_000;
/** How long a join may take to settle (node start, election, handoffs) on a busy machine. */
const SETTLE = 60_000;
/** Goals of issue 14: asks with 3 nodes; deposits with 2+ nodes, per window. */
const ASK_GOAL = 0.9;
const DEPOSIT_GOAL: Record<number, number> = { 16: 0.6, 128: 0.8 };
/** Deposit txn ids have one length, so every appended event has one size: `d` + this many digits. */
const TXN_DIGITS = 9;

/**
 * The ingress path as a client outside the cluster sees it, with 1, 2 and 3 `shoal node`
 * processes (a node joins between steps and the cluster settles):
 *
 * - asks (`balance` of 1,000 accounts, JSON, one NATS request each) through a `ShoalClient`
 *   routing by the shard map (`routing: "owner"`, the default: straight to the owner's node) and
 *   through the shared subject (`routing: "any"`: any node takes it and forwards it to the
 *   owner), beside raw request-reply of the same bytes to a raw responder, alternated rounds at
 *   windows 1 and 128; the nodes' `forwarded` counters give the hops per ask;
 * - with 2 and 3 nodes, persisted deposits (`{"deposit":{amount,txn}}`: one fenced event appended
 *   to JetStream per turn) beside raw `js.publish` of a payload the size of that event, with a
 *   msg id, to a stream configured like Shoal's journal (file, R1), at windows 16 and 128;
 *
 * then unavailability after a node's link to NATS goes silent (bench/silent-link.ts).
 */
export async function ingress(url: string, serverPid?: number): Promise<void> {
  await scaling(url, serverPid);
  await silentLink(url);
}

async function scaling(url: string, serverPid?: number): Promise<void> {
  const cluster = `benchin${process.pid}`;
  const rawSubject = `benchin${process.pid}.echo`;
  const rawStream = `BENCH_RAW_JOURNAL_${process.pid}`;
  const rawPrefix = `benchinjs${process.pid}`;
  const { open, closeAll } = benchConnections(url);
  const nodes: NodeProcess[] = [];
  let rawPeer: ChildProcess | undefined;
  const server = serverPid === undefined ? {} : { server: serverPid };
  try {
    rawPeer = await startRawPeer(url, rawSubject);
    const observer = await open();
    const raw = await open();
    // Each side its own connection, as separate clients would have.
    const clients = { owner: new ShoalClient(await open(), cluster), any: new ShoalClient(await open(), cluster, { routing: "any" }) };
    const jsConn = await open();
    const js = jetstream(jsConn);
    const jsm = await jetstreamManager(jsConn);
    await jsm.streams.add({ ...journalStreamConfig(cluster, 1), name: rawStream, subjects: [`${rawPrefix}.>`] });

    const ids = Array.from({ length: ACCOUNTS }, (_, k) => `in-${k}`);
    const balance = { balance: {} };
    // Raw requests carry as many bytes as the client's JSON request.
    const askBody = new Uint8Array(encodeJson({ type: "account", id: ids[ACCOUNTS / 2]!, msg: balance, timeoutMs: TIMEOUT }).length).fill(120);
    const rawAsk: Run = (n, w, lat) => timed(n, w, lat, () => raw.request(rawSubject, askBody, { timeout: TIMEOUT }));
    const ask = (side: "owner" | "any"): Run => {
      const client = clients[side];
      return (n, w, lat) => timed(n, w, lat, (i) => client.ask("account", ids[i % ACCOUNTS]!, balance, { timeout: TIMEOUT }));
    };
    let txns = 0;
    const txn = () => `d${String(txns++).padStart(TXN_DIGITS, "0")}`;
    const deposit: Run = (n, w, lat) =>
      timed(n, w, lat, (i) => clients.owner.ask("account", ids[i % ACCOUNTS]!, { deposit: { amount: 1, txn: txn() } }, { timeout: TIMEOUT }));
    // What the account's turn appends: a MessagePack array of its one event.
    const eventBytes = msgpack.encode([{ deposited: { amount: 1, txn: txn() } }]).length;
    const eventBody = new Uint8Array(eventBytes).fill(120);
    let published = 0;
    const rawPublish: Run = (n, w, lat) =>
      timed(n, w, lat, (i) => js.publish(`${rawPrefix}.${ids[i % ACCOUNTS]!}`, eventBody, { msgID: `${rawPrefix}-${published++}` }));

    for (const count of NODE_COUNTS) {
      nodes.push(NodeProcess.start({ url, id: `in-${count}`, cluster, args: ["--shards", String(SHARDS)] }));
      const live = nodes.map((p) => p.id);
      await waitStable(observer, cluster, live, SHARDS, SETTLE);
      const forwarded = async () => (await Promise.all(live.map((id) => statusOf(observer, cluster, id)))).reduce((a, s) => a + (s?.forwarded ?? 0), 0);
      const procs = Object.fromEntries(nodes.map((p) => [p.id, p.pid]));
      // Every account active on its owner and each client on the newest map, then measure.
      for (const side of ["owner", "any"] as const) await ask(side)(ACCOUNTS * 3, 128, []);
      await rawAsk(ACCOUNTS * 3, 128, []);

      for (const window of ASK_WINDOWS) {
        const hops = { owner: [] as number[], any: [] as number[] };
        const counted =
          (side: "owner" | "any"): Run =>
          async (n, w, lat) => {
            const before = await forwarded();
            const rate = await ask(side)(n, w, lat);
            hops[side].push(((await forwarded()) - before) / n);
            return rate;
          };
        const cpu =
          window === 128
            ? {
                owner: new CpuTally({ client: undefined, ...procs, ...server }),
                any: new CpuTally({ client: undefined, ...procs, ...server }),
                raw: new CpuTally({ client: undefined, responder: rawPeer.pid, ...server }),
              }
            : undefined;
        const r = await alternate(ASKS[window]!, window, { owner: counted("owner"), any: counted("any"), raw: rawAsk }, { cpu });
        const tag = `n${count}_w${window}`;
        const what = { nodes: count, window, accounts: ACCOUNTS, requestBytes: askBody.length, server: "same" };
        const baseline = `raw request ${perSecond(r.rate.raw)}`;
        const lat = (side: keyof typeof r.lat, q: number) => percentile(r.lat[side], q);
        for (const side of ["owner", "any"] as const) {
          const how =
            side === "owner"
              ? "ShoalClient routing by the shard map: straight to the owner's node subject"
              : "ShoalClient routing any: shoal.<cluster>.ask, a queue group; a node that does not own the account forwards it";
          emit({
            name: `ingress_ask_${side}_${tag}`,
            value: r.rate[side],
            unit: "asks/s",
            ratio: r.rate[side] / r.rate.raw,
            baseline,
            goal: side === "owner" && count === 3 ? ASK_GOAL : undefined,
            forwardedPerAsk: mean(hops[side]),
            p50Ms: lat(side, 50),
            p99Ms: lat(side, 99),
            rawP50Ms: lat("raw", 50),
            rawP99Ms: lat("raw", 99),
            routing: side,
            note: how,
            ...what,
          });
          if (window === 1)
            emit({ name: `ingress_ask_${side}_p50_${tag}`, value: lat(side, 50), unit: "ms", baseline: `raw ${lat("raw", 50).toFixed(3)} ms`, ...what });
          const used = cpu && cpuFigure(`ingress_ask_${side}_cpu_${tag}`, "ask", cpu[side], cpu.raw, { routing: side, ...what });
          if (used !== undefined) emit(used);
        }
        emit({ name: `raw_request_ingress_${tag}`, value: r.rate.raw, unit: "msgs/s", ...what });
        if (window === 128) {
          emit({
            name: `ingress_forwarded_per_ask_any_n${count}`,
            value: mean(hops.any),
            unit: "forwards/ask",
            baseline: `routing owner ${mean(hops.owner).toFixed(3)}`,
            note: "node-to-node forwards per ingress ask (the nodes' status.forwarded) over the window-128 rounds, routing any; beside it routing owner",
            ...what,
          });
        }
      }

      if (count < 2) continue;
      await deposit(2000, 128, []);
      await rawPublish(2000, 128, []);
      for (const window of DEPOSIT_WINDOWS) {
        const cpu = {
          shoal: new CpuTally({ client: undefined, ...procs, ...server }),
          raw: new CpuTally({ publisher: undefined, ...server }),
        };
        const r = await alternate(DEPOSITS[window]!, window, { shoal: deposit, raw: rawPublish }, { cpu });
        const tag = `n${count}_w${window}`;
        const lat = (side: keyof typeof r.lat, q: number) => percentile(r.lat[side], q);
        const what = { nodes: count, window, accounts: ACCOUNTS, eventBytes, server: "same" };
        emit({
          name: `ingress_deposit_${tag}`,
          value: r.rate.shoal,
          unit: "deposits/s",
          ratio: r.rate.shoal / r.rate.raw,
          baseline: `raw js.publish ${perSecond(r.rate.raw)}`,
          goal: DEPOSIT_GOAL[window],
          p50Ms: lat("shoal", 50),
          p99Ms: lat("shoal", 99),
          rawP50Ms: lat("raw", 50),
          rawP99Ms: lat("raw", 99),
          note: "ShoalClient (routing owner) → the owner's node → the account's turn → one fenced JetStream append → the reply",
          ...what,
        });
        emit({
          name: `raw_jetstream_publish_deposit_${tag}`,
          value: r.rate.raw,
          unit: "msgs/s",
          note: "awaited js.publish of the event's size with a msg id, one subject per account, to a stream configured like the journal",
          ...what,
        });
        const used = cpuFigure(`ingress_deposit_cpu_${tag}`, "deposit", cpu.shoal, cpu.raw, what);
        if (used !== undefined) emit(used);
      }
    }
    await jsm.streams.delete(rawStream).catch(() => undefined);
    await Promise.all(Object.values(clients).map((c) => c.close()));
  } finally {
    await closeAll();
    await Promise.all(nodes.map((p) => p.stop()));
    if (rawPeer !== undefined) await stopChild(rawPeer);
  }
}
