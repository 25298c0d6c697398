import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NodeProcess, waitFor } from "../integration/kit/index.js";
import { trackChild } from "../integration/kit/server.js";
import { ShoalClient } from "../src/client.js";
import { encodeJson } from "../src/codec/json.js";
import { clusterSubjects } from "../src/ingress/subjects.js";
import { waitStable } from "./nodes.js";
import { emit, throughput } from "./report.js";
import { mean, percentile } from "./stats.js";

const PAYLOAD = 128;
const WINDOWS = [1, 32, 128] as const;
const TOTAL: Record<number, number> = { 1: 3000, 32: 20_000, 128: 20_000 };
const SHARDS = 64;
const MSG = { balance: {} };
const ASK_TIMEOUT = 10_000;

/**
 * Remote ask through the ingress vs raw nats.js request-reply, caller and target in separate
 * processes, same server, same in-flight window. Shoal: a ShoalClient (JSON) asks `account`
 * `{balance:{}}` (a query: one turn, no write) of one `shoal node` process owning every shard;
 * the request is padded (by the id) to 128 bytes. Raw: `nc.request` of 128 bytes to a plain
 * responder process answering 128 bytes. Warmed up, then alternated.
 */
export async function remoteAsk(url: string): Promise<void> {
  const cluster = `benchra${process.pid}`;
  const rawSubject = `benchraw${process.pid}.echo`;
  let node: NodeProcess | undefined;
  let responder: ChildProcess | undefined;
  let nc: NatsConnection | undefined;
  try {
    node = NodeProcess.start({ url, id: "ra-1", cluster, args: ["--shards", String(SHARDS)] });
    responder = startResponder(url, rawSubject);
    nc = await connect({ servers: url });
    await waitStable(nc, cluster, ["ra-1"], SHARDS);
    const r = responder;
    await waitFor(() => ready.has(r) || r.exitCode !== null, { timeout: 15_000, message: "the raw responder never got ready" });
    if (!ready.has(r)) throw new Error(`the raw responder exited with code ${r.exitCode}`);

    const client = new ShoalClient(nc, cluster);
    const ids = paddedIds(cluster, 128);
    const body = new Uint8Array(PAYLOAD).fill(120);
    const replyBytes = (await nc.request(clusterSubjects(cluster).ask, encodeJson({ type: "account", id: ids[0]!, msg: MSG, timeoutMs: ASK_TIMEOUT }))).data.length;
    const conn = nc;

    const shoalRun = (n: number, window: number, lat: number[]) =>
      timed(n, window, lat, (i) => client.ask("account", ids[i % ids.length]!, MSG, { timeout: ASK_TIMEOUT }));
    const rawRun = (n: number, window: number, lat: number[]) => timed(n, window, lat, () => conn.request(rawSubject, body, { timeout: ASK_TIMEOUT }));

    // Warm both paths (JIT, every account loaded from the journal once).
    await shoalRun(3000, 128, []);
    await rawRun(3000, 128, []);
    for (const window of WINDOWS) {
      const total = TOTAL[window]!;
      const lat = { shoal: [] as number[], raw: [] as number[] };
      const rates = { shoal: [] as number[], raw: [] as number[] };
      for (let round = 0; round < 2; round++) {
        rates.shoal.push(await shoalRun(total, window, lat.shoal));
        rates.raw.push(await rawRun(total, window, lat.raw));
      }
      const shoal = mean(rates.shoal);
      const raw = mean(rates.raw);
      const p = (xs: number[], q: number) => percentile(xs, q);
      const common = { window, processes: "caller and target apart", server: "same" };
      emit({
        name: `remote_ask_w${window}`,
        value: shoal,
        unit: "asks/s",
        ratio: shoal / raw,
        baseline: `raw ${Math.round(raw).toLocaleString("en-US")} msgs/s`,
        requestBytes: PAYLOAD,
        replyBytes,
        p50: p(lat.shoal, 50),
        p99: p(lat.shoal, 99),
        note: "ShoalClient → ingress: JSON encode/decode both ways, ingress checks, router, one actor turn",
        ...common,
      });
      emit({ name: `raw_request_w${window}`, value: raw, unit: "msgs/s", requestBytes: PAYLOAD, replyBytes: PAYLOAD, p50: p(lat.raw, 50), p99: p(lat.raw, 99), ...common });
      emit({ name: `remote_ask_vs_raw_w${window}`, value: shoal / raw, unit: "ratio", ratio: shoal / raw, ...common });
      for (const q of [50, 99]) {
        emit({ name: `remote_ask_p${q}_w${window}`, value: p(lat.shoal, q), unit: "ms", baseline: `raw ${p(lat.raw, q).toFixed(3)} ms`, ...common });
        emit({ name: `raw_request_p${q}_w${window}`, value: p(lat.raw, q), unit: "ms", ...common });
      }
    }
  } finally {
    await nc?.close().catch(() => undefined);
    await node?.kill();
    if (responder !== undefined) await stopChild(responder);
  }
}

/** `throughput`, recording each operation's latency (ms) into `lat`. */
function timed(n: number, window: number, lat: number[], op: (i: number) => Promise<unknown>): Promise<number> {
  return throughput(n, window, async (i) => {
    const t = process.hrtime.bigint();
    await op(i);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
}

/** `count` account ids, each padded so the JSON request envelope is exactly PAYLOAD bytes. */
function paddedIds(cluster: string, count: number): string[] {
  return Array.from({ length: count }, (_, k) => {
    const stem = `ra-${cluster}-${k}-`;
    const base = encodeJson({ type: "account", id: stem, msg: MSG, timeoutMs: ASK_TIMEOUT }).length;
    return stem.padEnd(stem.length + Math.max(0, PAYLOAD - base), "x");
  });
}

const ready = new WeakSet<ChildProcess>();

function startResponder(url: string, subject: string): ChildProcess {
  const script = join(dirname(fileURLToPath(import.meta.url)), "raw-responder.js");
  const child = spawn(process.execPath, [script, url, subject, String(PAYLOAD)], { stdio: ["ignore", "pipe", "inherit"] });
  trackChild(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.includes("ready")) ready.add(child);
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
