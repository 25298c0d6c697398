import { gatherClusterStatus } from "../../../cluster/cluster-status.js";
import { ClusterEvents, type ClusterEvent } from "../../../cluster/events.js";
import { localNats, NodeProcess, waitSettled } from "../../../local-nats/index.js";
import type { NatsConnection } from "@nats-io/transport-node";
import { ShoalClient } from "../../../src/client.js";
import { ProjectionView } from "../../../src/projection/view-reader.js";
import { ShoalError } from "../../../src/errors.js";
import { parse, positiveInt } from "../../args.js";
import { connectTo } from "../../connect.js";
import { formatStatus } from "../status.js";
import { formatEvent } from "../watch.js";
import { DemoOutput } from "./output.js";
import { BankTraffic } from "./traffic.js";

export const demoUsage = `shoal demo [--nodes N] [--shards N]

Starts a local nats-server (NATS_URL overrides; see the README for how one is found) and N
node processes (default 3), sends steady "account" traffic through the ingress, then scales
up by one node and down by one (a graceful drain), showing every migration as it happens.
Ends with a verification line: sent, acknowledged, lost, duplicated; then the read side: the
built-in account-balances projection's view against every account. Exit 0 when nothing was
lost or duplicated and the view caught up.`;

const TIMING = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"];

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parse(argv, { nodes: { type: "string" }, shards: { type: "string" }, help: { type: "boolean", short: "h" } });
  if (values.help) {
    console.log(demoUsage);
    return 0;
  }
  const n = positiveInt("nodes", values.nodes, 3);
  const shards = positiveInt("shards", values.shards, 64);
  const output = new DemoOutput();
  const out = (line = "") => output.line(line);
  const step = (line: string) => out(`\n== ${line}`);

  step("starting a local nats-server");
  await using nats = await localNats();
  out(`nats-server at ${nats.url}`);
  const cluster = `demo-${process.pid}`;
  const nc = await connectTo(nats.url, "shoal-demo");
  const nodes: NodeProcess[] = [];
  const start = (id: string) => {
    const p = NodeProcess.start({ url: nats.url, id, cluster, args: ["--shards", String(shards), ...TIMING], env: { SHOAL_LOG_LEVEL: "warn" } });
    nodes.push(p);
    return p;
  };
  const live = () => nodes.filter((p) => p.running).map((p) => p.id);
  const show = async () => out(formatStatus(await gatherClusterStatus(nc, cluster)));
  let showEvents = false;
  const events = ClusterEvents.subscribe(nc, cluster, (e: ClusterEvent) => {
    if (showEvents && (e.type !== "member.updated" || e.state === "draining")) out(`  ${formatEvent(e)}`);
  });

  try {
    step(`starting ${n} nodes (cluster "${cluster}", ${shards} shards)`);
    for (let i = 1; i <= n; i++) start(`node-${i}`);
    await waitSettled(nc, cluster, live(), shards, 30_000);
    await show();

    step("a few messages through the ingress (shoal.<cluster>.ask), from any node");
    const client = new ShoalClient(nc, cluster);
    const say = async (id: string, msg: unknown) => {
      try {
        out(`  ${id} ${JSON.stringify(msg)} → ${JSON.stringify(await client.ask("account", id, msg))}`);
      } catch (err) {
        out(`  ${id} ${JSON.stringify(msg)} → ${ShoalError.is(err) ? `${err.code}: ${err.message}` : String(err)}`);
      }
    };
    await say("alice", { deposit: { amount: 100, txn: "hello-1" } });
    await say("alice", { deposit: { amount: 100, txn: "hello-1" } }); // a retry: applied once
    await say("bob.smith > *", { withdraw: { amount: 5, txn: "hello-2" } }); // any id; refused
    await say("alice", { deposit: { amount: -1, txn: "hello-3" } }); // bad input

    step("steady traffic: 4 senders, 20 accounts, every deposit with a unique txn (retries reuse it)");
    const accounts = Array.from({ length: 20 }, (_, i) => `acct-${i}`);
    const traffic = new BankTraffic(nc, cluster, accounts);
    traffic.start(4);
    let migrations = 0;
    const counter = ClusterEvents.subscribe(nc, cluster, (e) => void (e.type === "migration" && migrations++));
    const ticker = setInterval(
      () => output.status(`  ▸ ${traffic.acknowledged} deposits acknowledged · ${migrations} migrations · nodes ${live().join(", ")} · ${traffic.phase}`),
      200,
    );
    await waitUntil(() => traffic.acknowledged >= 200, 20_000);
    out(`  ${traffic.acknowledged} deposits acknowledged so far`);

    step(`scale up: node-${n + 1} joins — shards move to it live`);
    showEvents = true;
    traffic.phase = "scale-up";
    start(`node-${n + 1}`);
    await waitSettled(nc, cluster, live(), shards, 30_000);
    showEvents = false;
    await show();
    await keepGoing(traffic, out);

    step("scale down: node-1 drains (SIGTERM) — its shards move away, then it exits 0");
    showEvents = true;
    traffic.phase = "scale-down";
    const drained = nodes[0]!;
    const code = await drained.stop();
    await waitSettled(nc, cluster, live(), shards, 30_000);
    showEvents = false;
    out(`  node-1 exited with ${code}`);
    await show();
    await keepGoing(traffic, out);

    step("stopping traffic and checking every balance against what was acknowledged");
    traffic.phase = "end";
    const r = await traffic.stop();
    clearInterval(ticker);
    counter.unsubscribe();
    output.done();
    const retried =
      Object.entries(r.retriedByPhase)
        .map(([k, v]) => `${k}:${v}`)
        .join(",") || "none";
    out(`\nverification: sent=${r.sent} acknowledged=${r.acknowledged} lost=${r.lost} duplicated=${r.duplicated} retried=${retried}`);
    const read = await readSide(nc, cluster, client, accounts);
    out(
      `read side: account-balances matches ${read.matching} of ${accounts.length} accounts${read.ms === undefined ? " (not caught up in 20 s)" : `, caught up ${read.ms} ms after the last check`}`,
    );
    return r.lost === 0 && r.duplicated === 0 && read.matching === accounts.length ? 0 : 1;
  } finally {
    events.unsubscribe();
    await Promise.all(nodes.map((p) => p.kill()));
    await nc.close();
  }
}

/**
 * The built-in projection's view against the actors: every account's `{balance, version}` as
 * the view shows it must equal what the account answers, once the projection has caught up.
 */
async function readSide(nc: NatsConnection, cluster: string, client: ShoalClient, accounts: readonly string[]): Promise<{ matching: number; ms?: number }> {
  const truth = new Map<string, { balance: number; version: number }>();
  for (const id of accounts) {
    const { balance, version } = await client.ask<{ balance: number; version: number }>("account", id, { balance: {} });
    truth.set(id, { balance, version });
  }
  const view = await ProjectionView.open<{ balance: number; version: number }>(nc, cluster, "account-balances");
  const started = Date.now();
  let matching = 0;
  while (Date.now() - started < 20_000) {
    matching = 0;
    for (const id of accounts) {
      const row = (await view.get(id))?.value;
      if (row?.balance === truth.get(id)!.balance && row.version === truth.get(id)!.version) matching++;
    }
    if (matching === accounts.length) return { matching, ms: Date.now() - started };
    await new Promise((r) => setTimeout(r, 100));
  }
  return { matching };
}

/** Lets the traffic run on for a while so the steady state after a change is visible. */
async function keepGoing(traffic: BankTraffic, out: (line: string) => void): Promise<void> {
  const target = traffic.acknowledged + 200;
  await waitUntil(() => traffic.acknowledged >= target, 20_000);
  out(`  … traffic flowing: ${traffic.acknowledged} deposits acknowledged`);
}

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("the demo's traffic made no progress");
    await new Promise((r) => setTimeout(r, 50));
  }
}
