/**
 * Concurrent writers with one expected version: 8 event stores on a 3-server R3 cluster (each
 * connected to one server) append to one actor with the same expected version, round after
 * round, after all of them passed the client-side pre-check. Exactly one may win each round,
 * and every store then reads exactly the winners, in order.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { JetStreamEventStore } from "../../src/store/jetstream.js";
import { startNatsCluster } from "../kit/index.js";
import { openStore } from "../open-store.js";
import { chaosName } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "concurrent-writers";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const nats = await startNatsCluster(3);
  const conns: NatsConnection[] = [];
  const writers: JetStreamEventStore[] = [];
  try {
    const cluster = chaosName("cw");
    for (let i = 0; i < 8; i++) {
      const nc = await connect({ servers: nats.urls[i % 3]!, noRandomize: true });
      conns.push(nc);
      writers.push(await openStore({ nc, cluster, replicas: 3 }));
    }
    const key = { type: "account", id: "contended" };
    const rounds = ctx.fast ? 20 : 40;
    const winners: Array<{ round: number; i: number }> = [];
    let multiple = 0;
    let none = 0;
    let otherErrors = 0;
    let longest = 0;
    let version = 0;
    for (let round = 0; round < rounds; round++) {
      const t0 = Date.now();
      const prepared = await Promise.all(writers.map((w, i) => w.prepareAppend(key, [{ round, i }], version)));
      const results = await Promise.allSettled(prepared.map((p, i) => writers[i]!.publishPrepared(p)));
      longest = Math.max(longest, Date.now() - t0);
      const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      otherErrors += results.filter((r) => r.status === "rejected" && (r.reason as { code?: string })?.code !== "CONFLICT").length;
      if (won.length > 1) multiple++;
      if (won.length === 0) none++;
      for (const i of won) winners.push({ round, i });
      version = await writers[0]!.version(key);
    }
    // Every store reads the same journal: the winners, once each, in round order.
    let lost = 0;
    let order = 0;
    for (const w of writers) {
      const read = (await w.read(key)).map((e) => e.event as { round: number; i: number });
      const keys = new Set(read.map((e) => `${e.round}/${e.i}`));
      lost = Math.max(lost, winners.filter((x) => !keys.has(`${x.round}/${x.i}`)).length);
      order = Math.max(order, read.filter((e, k) => k > 0 && e.round < read[k - 1]!.round).length);
    }
    ctx.log(`${name}: ${rounds} rounds, ${winners.length} wins`);
    return {
      lost,
      duplicated: multiple,
      orderViolations: order,
      longestUnavailableMs: longest,
      failedChecks: [none > 0 && `${none} rounds had no winner`, otherErrors > 0 && `${otherErrors} losers failed with something other than CONFLICT`].filter(
        (x): x is string => typeof x === "string",
      ),
      notes: { rounds, writers: writers.length, roundsWithSeveralWinners: multiple, roundsWithNoWinner: none },
    };
  } finally {
    await Promise.all(writers.map((w) => w.close().catch(() => undefined)));
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await nats.stop();
  }
}
