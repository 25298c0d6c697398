import { connect } from "@nats-io/transport-node";
import { NodeProcess, SERVER_SETTINGS, startProxy } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import { ShoalError } from "../src/errors.js";
import { FAST_TIMING, fastNodeArgs, waitStable } from "./nodes.js";
import { emit } from "./report.js";
import { percentile } from "./stats.js";

const SHARDS = 64;
const SAMPLES = 3;
/** Accounts on the node whose link goes silent, asked in turn. */
const ACCOUNTS = 12;
/** One probe ask is sent this often, whether or not earlier ones have settled (the figure's resolution). */
const PROBE_EVERY_MS = 20;
/** Per-ask timeout, as in the SIGKILL figures (the client's transport waits 1 s more). */
const ASK_TIMEOUT = 500;
/** A sample ends once every probe has succeeded for this long since the last failure was seen. */
const QUIET_MS = 4000;
/** A sample that does not end within this long of the freeze fails the bench. */
const GIVE_UP_MS = 30_000;
const SETTLE = 60_000;
const DEPOSIT = 7;
const SILENT = "sl-3";

interface Probe {
  /** ms since the freeze, when sent and when settled. */
  sent: number;
  settled?: number;
  node?: string;
  code?: string;
}

/**
 * Unavailability after a silent link: three `shoal node` processes (the timing of the SIGKILL
 * figures, bench/failover.ts), the third connected through a TCP proxy (local-nats `startProxy`).
 * The proxy is frozen — nothing forwarded either way, nothing closed or reset — and a
 * `ShoalClient` (routing by the map) sends a `balance` ask every 20 ms, in turn to accounts the
 * silent node owns (each holding one deposit), until every ask has succeeded for 4 s. Figures,
 * from the freeze: the first answer from another node, and the send time of the last ask that
 * failed (every ask sent later was answered). Then the proxy thaws and the node rejoins before
 * the next sample.
 *
 * What bounds it: the server notices the silent client by its PINGs (local-nats servers: every
 * `ping_interval`, dropping it after `ping_max` unanswered), the node's membership record
 * expires (member TTL), the leader moves its shards, and the accounts are loaded from the
 * journal on their new owners.
 */
export async function silentLink(url: string): Promise<void> {
  const cluster = `benchsl${process.pid}`;
  const first = new URL(url.split(",")[0]!);
  const proxy = await startProxy(Number(first.port || 4222), first.hostname);
  const nc = await connect({ servers: url, noAsyncTraces: true });
  const client = new ShoalClient(nc, cluster);
  const args = fastNodeArgs(SHARDS);
  const nodes: NodeProcess[] = [];
  const ids = ["sl-1", "sl-2", SILENT];
  try {
    // sl-1 first, so it leads: a silent leader adds an election, the SIGKILL figures' leader sample.
    nodes.push(NodeProcess.start({ url, id: "sl-1", cluster, args }));
    await waitStable(nc, cluster, ["sl-1"], SHARDS, SETTLE);
    nodes.push(NodeProcess.start({ url, id: "sl-2", cluster, args }));
    nodes.push(NodeProcess.start({ url: `nats://127.0.0.1:${proxy.port}`, id: SILENT, cluster, args }));
    const samples = { answer: [] as number[], lastFailure: [] as number[], failed: [] as number[], rejoin: [] as number[] };
    for (let s = 0; s < SAMPLES; s++) {
      const [status] = await waitStable(nc, cluster, ids, SHARDS, SETTLE);
      if (status!.leader === SILENT) throw new Error(`${SILENT} leads the cluster: the silent-link samples need it to be a plain owner`);
      const accounts = await accountsOn(client, SILENT, `sl-${process.pid}-${s}`);
      for (const id of accounts) await client.ask("account", id, { deposit: { amount: DEPOSIT, txn: `t-${id}` } });

      proxy.freeze();
      const probes = await probe(client, accounts);
      proxy.thaw();
      const thawAt = performance.now();
      await waitStable(nc, cluster, ids, SHARDS, SETTLE);
      samples.rejoin.push(performance.now() - thawAt);

      const failed = probes.filter((p) => p.code !== undefined);
      const answered = probes.filter((p) => p.node !== undefined && p.node !== SILENT);
      samples.answer.push(Math.min(...answered.map((p) => p.settled!)));
      samples.lastFailure.push(failed.length === 0 ? 0 : Math.max(...failed.map((p) => p.sent)));
      samples.failed.push(failed.length);
    }
    const round = (xs: number[]) => xs.map(Math.round);
    const common = {
      fault: "silent link (TCP frozen, no reset)",
      compare: "sigkill_to_answer_ms",
      samples: round(samples.answer),
      lastFailureSamples: round(samples.lastFailure),
      failedProbes: samples.failed,
      rejoinAfterThawMs: round(samples.rejoin),
      probeEveryMs: PROBE_EVERY_MS,
      askTimeout: ASK_TIMEOUT,
      ...FAST_TIMING,
      serverPing: process.env.NATS_URL ? "the NATS_URL server's own" : SERVER_SETTINGS,
      shards: SHARDS,
    };
    const answerNote = "from the freeze to the first answer from another node";
    const failureNote = "from the freeze to the sending of the last ask that failed (every later one was answered)";
    emit({ name: "silent_link_to_answer_ms", value: percentile(samples.answer, 50), unit: "ms", stat: "p50", note: answerNote, ...common });
    emit({ name: "silent_link_to_answer_ms_max", value: Math.max(...samples.answer), unit: "ms", stat: "max", note: answerNote, ...common });
    emit({ name: "silent_link_to_last_failure_ms", value: percentile(samples.lastFailure, 50), unit: "ms", stat: "p50", note: failureNote, ...common });
    emit({ name: "silent_link_to_last_failure_ms_max", value: Math.max(...samples.lastFailure), unit: "ms", stat: "max", note: failureNote, ...common });
  } finally {
    await client.close();
    await nc.close().catch(() => undefined);
    await Promise.all(nodes.map((p) => p.kill()));
    await proxy.stop();
  }
}

/** ACCOUNTS fresh accounts (ids `<prefix>-<k>`) whose owner is `node`. */
async function accountsOn(client: ShoalClient, node: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (let k = 0; found.length < ACCOUNTS; k++) {
    if (k === ACCOUNTS * 100) throw new Error(`only ${found.length} of ${k} accounts are on ${node}`);
    const id = `${prefix}-${k}`;
    if ((await client.ask<{ node: string }>("account", id, { balance: {} })).node === node) found.push(id);
  }
  return found;
}

/**
 * From now (the freeze) on, a balance ask every PROBE_EVERY_MS to the accounts in turn, not
 * waiting for earlier ones, until some node other than the silent one has answered and no ask
 * has failed for QUIET_MS; then waits for those in flight. Times are ms since the freeze.
 */
async function probe(client: ShoalClient, accounts: readonly string[]): Promise<Probe[]> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const probes: Probe[] = [];
  const inFlight: Promise<void>[] = [];
  let lastFailureSeen = 0;
  let answered = false;
  let wrong: string | undefined;
  for (let i = 0; ; i++) {
    if (wrong !== undefined) break;
    if (answered && now() - lastFailureSeen >= QUIET_MS) break;
    if (now() > GIVE_UP_MS) throw new Error(`the accounts of ${SILENT} did not answer steadily within ${GIVE_UP_MS} ms of its link going silent`);
    const p: Probe = { sent: now() };
    probes.push(p);
    const id = accounts[i % accounts.length]!;
    inFlight.push(
      client.ask<{ node: string; balance: number }>("account", id, { balance: {} }, { timeout: ASK_TIMEOUT }).then(
        (r) => {
          p.settled = now();
          p.node = r.node;
          if (r.balance !== DEPOSIT) wrong = `${r.node} answered balance ${r.balance} for ${id}, expected ${DEPOSIT}`;
          if (r.node !== SILENT) answered = true;
        },
        (err: unknown) => {
          p.settled = now();
          p.code = ShoalError.is(err) ? err.code : String(err);
          lastFailureSeen = now();
        },
      ),
    );
    await new Promise((ok) => setTimeout(ok, PROBE_EVERY_MS));
  }
  await Promise.all(inFlight);
  if (wrong !== undefined) throw new Error(wrong);
  return probes;
}
