import type { ChildProcess } from "node:child_process";
import type { NatsConnection } from "@nats-io/transport-node";
import { ShoalNode } from "../cluster/node.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { NodeProcess } from "../local-nats/index.js";
import { account } from "../src/actors/account.js";
import { sequencer } from "../src/actors/sequencer.js";
import { alternate, ROUNDS, type Run, timed } from "./compare.js";
import { CpuTally, cpuFigure } from "./cpu.js";
import { echo, echoMessage } from "./echo-actor.js";
import { waitStable } from "./nodes.js";
import { echoActorModule, eventLoopP99, freePort, startRawPeer, stopChild } from "./peers.js";
import { benchConnections } from "./connections.js";
import { emit, type Figure, throughput } from "./report.js";
import { median, percentile } from "./stats.js";

const SHARDS = 64;
const PAYLOADS = [128, 1024] as const;
const WINDOWS = [1, 32, 128] as const;
const ASKS: Record<number, number> = { 1: 3000, 32: 30_000, 128: 40_000 };
const TELLS: Record<number, number> = { 128: 100_000, 1024: 50_000 };
const TELL_WINDOW = 4096;
const WARMUP = 20_000;
const TIMEOUT = 30_000;
const common = { processes: "caller and target apart", server: "same" };

/**
 * Shoal between processes vs raw nats.js on the same server, same payloads, same window.
 *
 * Target: a `shoal node` process hosting the bench's echo actor. Caller: a ShoalNode in this
 * process, in the same cluster, asking only actors whose shards the target owns, so every ask
 * is routed over NATS (router → coalesced node batches → the target's runtime → back). Raw: a
 * plain nats.js process answering requests with their own payload, and counting publishes.
 * (The ingress, a ShoalClient from outside the cluster, is the `ingress` part: bench/ingress.ts.)
 */
export async function remote(url: string, serverPid?: number): Promise<void> {
  const cluster = `benchrm${process.pid}`;
  const rawSubject = `benchraw${process.pid}.echo`;
  const httpPort = await freePort();
  const { open, closeAll } = benchConnections(url);
  let target: NodeProcess | undefined;
  let rawPeer: ChildProcess | undefined;
  let caller: ShoalNode | undefined;
  // CPU of every process involved: the server's only when the bench started it.
  const server = serverPid === undefined ? {} : { server: serverPid };
  try {
    target = NodeProcess.start({ url, id: "rm-target", cluster, args: ["--shards", String(SHARDS), "--actors", echoActorModule, "--http", String(httpPort)] });
    rawPeer = await startRawPeer(url, rawSubject);
    const raw = await open();
    const observer = await open();
    await waitStable(observer, cluster, ["rm-target"], SHARDS);
    caller = await ShoalNode.start({ nc: await open(), cluster, nodeId: "rm-caller", actors: [echo, account, sequencer], shardCount: SHARDS });
    await waitStable(observer, cluster, ["rm-target", "rm-caller"], SHARDS);
    const owners = caller.map!.owners;
    const ids: string[] = [];
    for (let k = 0; ids.length < 256; k++) if (owners[shardOf(echo.type, `e${k}`, SHARDS)] === "rm-target") ids.push(`e${k}`);
    const node = caller;

    for (const payload of PAYLOADS) {
      const msg = echoMessage(payload);
      const body = new Uint8Array(payload).fill(120);
      const shoal: Run = (n, w, lat) => timed(n, w, lat, (i) => node.ask(echo.type, ids[i % ids.length]!, msg, { timeout: TIMEOUT }));
      const rawAsk: Run = (n, w, lat) => timed(n, w, lat, () => raw.request(rawSubject, body, { timeout: TIMEOUT }));
      // Warm both paths to their steady state (the JIT, every actor activated), then measure.
      await shoal(WARMUP, 128, []);
      await rawAsk(WARMUP, 128, []);
      for (const window of WINDOWS) {
        const watchLoop = window === 128 && payload === 128;
        if (watchLoop) await eventLoopP99(httpPort); // resets the target's histogram
        const cpu =
          window === 128
            ? {
                shoal: new CpuTally({ caller: undefined, target: target.pid, ...server }),
                raw: new CpuTally({ caller: undefined, responder: rawPeer.pid, ...server }),
              }
            : undefined;
        const r = await alternate(ASKS[window]!, window, { shoal, raw: rawAsk }, { cpu, watchLoop });
        const targetLoop = watchLoop ? await eventLoopP99(httpPort) : undefined;
        const tag = `w${window}_${payload}b`;
        const lat = (xs: number[], q: number) => percentile(xs, q);
        const what = { window, payload, ...common };
        emit({
          name: `remote_ask_${tag}`,
          value: r.rate.shoal,
          unit: "asks/s",
          ratio: r.rate.shoal / r.rate.raw,
          baseline: `raw request ${Math.round(r.rate.raw).toLocaleString("en-US")}/s`,
          goal: window === 128 ? 2 : undefined,
          ...what,
        });
        emit({ name: `raw_request_${tag}`, value: r.rate.raw, unit: "msgs/s", ...what });
        emit({ name: `remote_ask_p50_${tag}`, value: lat(r.lat.shoal, 50), unit: "ms", baseline: `raw ${lat(r.lat.raw, 50).toFixed(3)} ms`, ...what });
        if (window === 1) {
          const delta = (lat(r.lat.shoal, 50) - lat(r.lat.raw, 50)) * 1000;
          emit({
            name: `remote_ask_p50_over_raw_${tag}`,
            value: delta,
            unit: "µs",
            goal: 50,
            note: "p50 of a lone remote ask minus p50 of a lone raw request",
            ...what,
          });
        }
        emit({ name: `remote_ask_p99_${tag}`, value: lat(r.lat.shoal, 99), unit: "ms", baseline: `raw ${lat(r.lat.raw, 99).toFixed(3)} ms`, ...what });
        const used = cpu && cpuFigure(`remote_ask_cpu_${tag}`, "ask", cpu.shoal, cpu.raw, what);
        if (used !== undefined) emit(used);
        if (r.loop !== undefined && targetLoop !== undefined) {
          emit({ name: "event_loop_p99_caller_remote_ask_w128", value: r.loop.shoal, unit: "ms", baseline: `raw caller ${r.loop.raw.toFixed(2)} ms`, ...what });
          emit({
            name: "event_loop_p99_target_remote_ask_w128",
            value: targetLoop,
            unit: "ms",
            note: "the target node's nodejs_eventloop_lag_p99 over the Shoal runs",
            ...what,
          });
        }
      }

      const sends = TELLS[payload]!;
      const rawPubSub = () => publishAll(raw, rawSubject, body, sends);
      /** One-way messages against raw pub→sub: ROUNDS alternated rounds each, medians, the CPU of every process. */
      const oneWay = async (kind: "send" | "tell", shoal: () => Promise<number>, extra: Partial<Figure>) => {
        const rates = { shoal: [] as number[], raw: [] as number[] };
        const cpu = {
          shoal: new CpuTally({ caller: undefined, target: target!.pid, ...server }),
          raw: new CpuTally({ publisher: undefined, subscriber: rawPeer!.pid, ...server }),
        };
        for (let round = 0; round < ROUNDS; round++) {
          rates.shoal.push(await cpu.shoal.measure(sends, shoal));
          rates.raw.push(await cpu.raw.measure(sends, rawPubSub));
        }
        const [s, r] = [median(rates.shoal), median(rates.raw)];
        emit({
          name: `${kind}_${payload}b`,
          value: s,
          unit: `${kind}s/s`,
          ratio: s / r,
          baseline: `raw pub→sub ${Math.round(r).toLocaleString("en-US")}/s`,
          payload,
          ...extra,
          ...common,
        });
        const used = cpuFigure(`${kind}_cpu_${payload}b`, "msg", cpu.shoal, cpu.raw, { payload, ...common });
        if (used !== undefined) emit(used);
        return r;
      };
      const shoalSend = () => throughput(sends, TELL_WINDOW, (i) => node.send(echo.type, ids[i % ids.length]!, msg, { timeout: TIMEOUT }));
      // Tells: fire-and-forget like a publish, then the time until the last one has been applied.
      const shoalTell = () => tellAll(node, echo.type, ids, msg, sends);
      await shoalSend();
      await shoalTell();
      await rawPubSub();
      const note = "acknowledged one by one once the turn is done (request-reply class); the 0.5× goal is the tell's, raw pub→sub being fire-and-forget";
      const rawRate = await oneWay("send", shoalSend, { window: TELL_WINDOW, note });
      emit({ name: `raw_pubsub_${payload}b`, value: rawRate, unit: "msgs/s", payload, ...common });
      await oneWay("tell", shoalTell, { goal: 0.5 });
    }
  } finally {
    await caller?.stop().catch(() => undefined);
    await closeAll();
    await target?.stop(); // SIGTERM: a profile (SHOAL_NODE_EXEC_ARGV) is written on a clean exit
    if (rawPeer !== undefined) await stopChild(rawPeer);
  }
}

/** Raw publish → subscribe: `n` publishes, then the time until the subscriber process has counted them all. */
async function publishAll(nc: NatsConnection, subject: string, body: Uint8Array, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  const done = nc.request(`${subject}.wait`, new TextEncoder().encode(String(n)), { timeout: TIMEOUT });
  for (let i = 0; i < n; i++) nc.publish(`${subject}.sink`, body);
  await done;
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * `n` tells round the actors `ids`, in one loop like raw's publishes, then an ask to every actor:
 * each travels behind that actor's tells (per-sender order), so when all are answered every tell
 * has been applied.
 */
async function tellAll(node: ShoalNode, type: string, ids: string[], msg: unknown, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) node.tell(type, ids[i % ids.length]!, msg, { timeout: TIMEOUT });
  await Promise.all(ids.map((id) => node.ask(type, id, msg, { timeout: TIMEOUT })));
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}
