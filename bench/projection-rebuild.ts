import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { waitFor } from "../local-nats/index.js";
import { streamName } from "../src/nats-names.js";
import { startRebuild } from "../src/projection/admin.js";
import { accountBalances } from "../src/projections/account-balances.js";
import { CpuTally } from "./cpu.js";
import { fillJournal, trickle } from "./journal-fill.js";
import { WHOLE_JOURNAL } from "./projection-lag.js";
import { SHARDS, startProjectionNodes } from "./projection-node.js";
import { balancesBucket, checkpoints, closeGate, openGate, viewMismatches, waitCaughtUp, waitClaimed } from "./projection-watch.js";
import { emit } from "./report.js";

const NODES = 3;
const ACCOUNTS = 2000;
/** Events in the rebuilt journal (`BENCH_PROJECTION_REBUILD`); the goal's figure is 1M. */
const EVENTS = Number(process.env.BENCH_PROJECTION_REBUILD ?? 200_000);
const TARGET = 1_000_000;
/** Longest a build may take (ms). */
const BUILD_TIMEOUT = 900_000;
/** Live deposits appended during the rebuild, one per this many ms. */
const TRICKLE_MS = 100;

/**
 * A blue-green rebuild of `account-balances` as shipped (4 partitions) on 3 node processes over a
 * journal of {@link EVENTS} deposits. Build 1 runs first, gated like the throughput runs, until
 * every checkpoint is at the journal's end (the initial build, timed too); then `startRebuild`
 * begins build 2 from the start, and the time runs until `_meta.serving` names build 2 (the
 * switch: build 2 within 1,000 batches of the end, build 1 frozen, build 2 past build 1, one
 * atomic swap). Below 1M events the 1M figure is extrapolated linearly, and labelled so.
 *
 * During the rebuild a trickle of live deposits (one per {@link TRICKLE_MS}) goes on, as in a
 * live cluster: the switch is driven by the commits of the new build's partition 0, and a journal
 * with no new events after the catch-up gives it none, so the switch would never happen.
 */
export async function projectionRebuild(url: string, nc: NatsConnection, serverPid?: number): Promise<void> {
  const cluster = `benchpj${process.pid}r`;
  const partitions = accountBalances.partitions.count;
  const jsm = await jetstreamManager(nc);
  const fillStart = Date.now();
  const filled = await fillJournal(nc, cluster, EVENTS, ACCOUNTS);
  const fillSeconds = (Date.now() - fillStart) / 1000;
  const bucket = await balancesBucket(nc, cluster);
  await closeGate(bucket, partitions);
  const nodes = await startProjectionNodes(nc, NODES, { url, cluster, prefix: "pr", shards: SHARDS, partitions, wholeJournal: WHOLE_JOURNAL });
  let stopTrickle: (() => Promise<number>) | undefined;
  try {
    await waitClaimed(bucket, 1, partitions);
    const procs = { ...Object.fromEntries(nodes.map((p) => [p.id, p.pid])), ...(serverPid === undefined ? {} : { server: serverPid }) };
    const initialCpu = new CpuTally(procs);
    let opened = 0;
    const first = await initialCpu.measure(EVENTS, async () => {
      opened = await openGate(bucket);
      return waitCaughtUp(bucket, 1, partitions, filled.lastSeq, BUILD_TIMEOUT, 200);
    });
    const initialSeconds = (Math.max(...first.map((c) => c.at)) - opened) / 1000;

    const rebuildCpu = new CpuTally(procs);
    let started = 0;
    let caughtUp = 0;
    let switched = 0;
    const live = { lastSeq: filled.lastSeq, expected: filled.expected };
    await rebuildCpu.measure(EVENTS, async () => {
      started = Date.now();
      stopTrickle = trickle(nc, cluster, ACCOUNTS, live, EVENTS, TRICKLE_MS);
      await startRebuild(bucket, started);
      await waitFor(
        async () => {
          if (caughtUp === 0 && (await checkpoints(bucket, 2, partitions)).every((c) => c !== undefined && c.seq >= filled.lastSeq)) caughtUp = Date.now();
          const meta = (await bucket.meta()).value;
          // The switch's own time (the nodes' clock, this machine's): when build 1 was retired.
          if (meta?.serving === 2) switched = meta.retired?.["1"] ?? Date.now();
          return switched !== 0;
        },
        { timeout: BUILD_TIMEOUT, interval: 200, message: `build 2 of ${bucket.name} never took over` },
      );
    });
    const seconds = (switched - started) / 1000;
    const lastSeq = await stopTrickle!();
    const second = await waitCaughtUp(bucket, 2, partitions, lastSeq, 60_000);
    const wrong = await viewMismatches(bucket, 2, live.expected);
    if (wrong > 0) console.warn(`projections bench: build 2 holds ${wrong} wrong rows`);
    const per = (t: CpuTally) => t.perOp();
    const what = { events: EVENTS, nodes: NODES, partitions, accounts: ACCOUNTS, wholeJournal: WHOLE_JOURNAL, server: "same" };
    const extrapolated = EVENTS < TARGET ? { extrapolated1MSeconds: (seconds * TARGET) / EVENTS, extrapolation: "linear in events, from this run" } : {};
    emit({
      name: `projection_rebuild_${EVENTS / 1000}k`,
      value: seconds,
      unit: "s",
      eventsPerS: EVENTS / seconds,
      caughtUpS: caughtUp === 0 ? undefined : (caughtUp - started) / 1000,
      cpuUsPerEvent: per(rebuildCpu)?.total,
      cpuParts: per(rebuildCpu)?.parts,
      viewRowsWrong: wrong,
      liveDeposits: lastSeq - filled.lastSeq,
      owners: second.map((c) => c.owner),
      note: "startRebuild → _meta.serving is build 2 (caughtUpS: every build-2 checkpoint at the prefilled end), with 10 live deposits/s",
      ...extrapolated,
      ...what,
    });
    emit({
      name: `projection_initial_build_${EVENTS / 1000}k`,
      value: initialSeconds,
      unit: "s",
      eventsPerS: EVENTS / initialSeconds,
      cpuUsPerEvent: per(initialCpu)?.total,
      fillSeconds,
      owners: first.map((c) => c.owner),
      note: "build 1 from the gate opening to every checkpoint at the end",
      ...(EVENTS < TARGET ? { extrapolated1MSeconds: (initialSeconds * TARGET) / EVENTS } : {}),
      ...what,
    });
  } finally {
    await stopTrickle?.();
    await Promise.all(nodes.map((p) => p.stop()));
    await jsm.streams.delete(streamName(cluster)).catch(() => undefined);
    await jsm.streams.delete(`KV_${bucket.name}`).catch(() => undefined);
  }
}
