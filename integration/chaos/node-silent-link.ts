/**
 * One node's link to NATS goes silent: the TCP proxy between it and the server is frozen
 * (nothing forwarded either way, nothing closed or reset, as in a partition, a stuck switch or a
 * frozen VM) for 30 s (6 s with --fast), then thawed, and what was buffered flows. Invariant 5:
 * every actor answers again within 10 s of the freeze, so no attempt started more than 10 s
 * after it (and before the thaw) may time out. Whatever the node sends when its link comes back
 * must be fenced; afterwards it rejoins and gets shards again. With --fast the freeze (6 s, or
 * longer when the load is slow to make progress while frozen) is usually shorter than the bound,
 * which then checks nothing: integration/silent-link.test.ts is the CI test of the bound.
 */
import { startNatsServer, startProxy } from "../kit/index.js";
import type { Attempt } from "../workload.js";
import { ChaosCluster, leaderOf, startLoad, startWithIsolatedNode, withChecks } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "node-silent-link";

/** Every actor answers again within this long of the freeze. */
const BOUND = 10_000;
/** The phase marked at freeze + BOUND (until the thaw). */
const AFTER_BOUND = "silent-after-bound";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const server = await startNatsServer();
  const proxy = await startProxy(server.port);
  const c = await ChaosCluster.create([server.url], "silent");
  const freezeMs = ctx.fast ? 6000 : 30_000;
  let boundTimer: NodeJS.Timeout | undefined;
  try {
    const before = await startWithIsolatedNode(c, `nats://127.0.0.1:${proxy.port}`);
    const load = startLoad(c, { accounts: 40, senders: 4, askTimeout: 1500 });
    await load.progress(100, "steady");

    load.phases.mark("frozen");
    const freezeAt = Date.now();
    proxy.freeze();
    boundTimer = setTimeout(() => load.phases.mark(AFTER_BOUND), BOUND);
    ctx.log(`${name}: n3's link frozen for ${freezeMs} ms`);
    await c.waitStable(["n1", "n2"]);
    const movedAwayMs = Date.now() - freezeAt;
    await load.progress(50, "while n3's link is silent");
    const left = freezeMs - (Date.now() - freezeAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));

    clearTimeout(boundTimer);
    load.phases.mark("thawed");
    const thawAt = Date.now();
    proxy.thaw();
    const after = await c.waitStable(["n1", "n2", "n3"]);
    const rejoinMs = Date.now() - thawAt;
    await load.progress(100, "after the thaw");
    const r = await load.finish();

    const history = load.bank.history;
    const attempts = history.flatMap((q) => q.attempts);
    const timedOut = (a: Attempt) => a.outcome === "TIMEOUT";
    const silent = attempts.filter((a) => a.at >= freezeAt && a.at < thawAt);
    // Started more than BOUND after the freeze, before the thaw (the phase an attempt carries is where it ended).
    const afterBound = silent.filter((a) => a.at >= freezeAt + BOUND);
    const lateTimeouts = afterBound.filter(timedOut);
    const timeoutsByPhase: Record<string, number> = {};
    for (const a of attempts.filter(timedOut)) timeoutsByPhase[a.phase] = (timeoutsByPhase[a.phase] ?? 0) + 1;
    const lastSilentTimeout = silent.filter(timedOut).reduce((m, a) => Math.max(m, a.at - freezeAt), -1);
    // What a retrying caller saw: from a request's first attempt to the end of its last.
    const longestRequestMs = history.reduce(
      (m, q) => (q.attempts.length === 0 ? m : Math.max(m, q.attempts.at(-1)!.at + q.attempts.at(-1)!.ms - q.attempts[0]!.at)),
      0,
    );
    const n3 = after.find((s) => s.node === "n3");
    ctx.log(
      `${name}: ${lateTimeouts.length}/${afterBound.length} attempts started ≥ ${BOUND} ms after the freeze timed out; ` +
        `last timed-out attempt started ${lastSilentTimeout} ms after the freeze; timeouts by phase ${JSON.stringify(timeoutsByPhase)}`,
    );
    return withChecks(
      r,
      [
        lateTimeouts.length > 0 &&
          `${lateTimeouts.length} of ${afterBound.length} attempts started more than ${BOUND} ms after the freeze (before the thaw) timed out; ` +
            `the last one started ${lastSilentTimeout} ms after it`,
        !(n3 !== undefined && n3.shards > 0) && "n3 did not get shards back after the thaw",
        !c.nodes.get("n3")!.running && "n3 exited",
        r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`,
      ],
      {
        freezeMs,
        frozenForMs: thawAt - freezeAt,
        boundMs: BOUND,
        leader: leaderOf(before),
        shardsMovedAwayAfterMs: movedAwayMs,
        rejoinedAfterThawMs: rejoinMs,
        attemptsWhileSilent: silent.length,
        attemptsAfterBound: afterBound.length,
        timeoutsAfterBound: lateTimeouts.length,
        lastTimeoutAfterFreezeMs: lastSilentTimeout < 0 ? null : lastSilentTimeout,
        timeoutsByPhase,
        longestRequestMs,
        events: c.countEvents(),
      },
    );
  } finally {
    clearTimeout(boundTimer);
    await c.close();
    await proxy.stop();
    await server.stop();
  }
}
