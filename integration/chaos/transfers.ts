/**
 * Random transfers among 100 accounts while nodes are SIGKILLed, joined and drained and a NATS
 * server is killed and restarted (3 servers, R3). Afterwards money is conserved, every debit is
 * credited exactly once, no balance ever went negative, and every answered transfer is in its
 * source's journal (invariant 7 under faults, with 1 and 2).
 */
import { randomUUID } from "node:crypto";
import { bounded, waitFor } from "../kit/index.js";
import { Phases } from "../workload.js";
import { checkTransfers, runTransfers } from "../workload/transfers.js";
import { drainNode, SETTLE } from "./harness.js";
import { startR3, streamState } from "./r3.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "transfers";

const SEED = 100;

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { nats, c, close } = await startR3("tr");
  try {
    const accounts = Array.from({ length: 100 }, (_, i) => `acct-${i}`);
    const phases = new Phases("seed");
    let stop = false;
    const load = runTransfers({
      nc: c.nc,
      cluster: c.name,
      accounts,
      senders: 4,
      until: () => stop,
      maxRetryMs: 60_000,
      phases,
      askTimeout: 3000,
      thinkMs: 5,
      txnPrefix: `x${randomUUID().slice(0, 8)}`,
      seed: SEED,
    });
    const progress = async (n: number, what: string) => {
      const target = load.summary().acked + n;
      await waitFor(() => load.summary().acked >= target, {
        timeout: SETTLE,
        interval: 50,
        message: `${what}: no ${n} more answers: ${JSON.stringify(load.summary())}`,
      });
    };
    const step = ctx.fast ? 40 : 150;
    await progress(accounts.length + step, "steady");

    phases.mark("kill-n2");
    await c.nodes.get("n2")!.kill();
    ctx.log(`${name}: SIGKILLed n2`);
    await progress(step, "after n2 was killed");

    phases.mark("join-n4");
    c.start("n4");
    await c.waitStable(["n1", "n3", "n4"]);
    await progress(step, "after n4 joined");

    phases.mark("drain-n3");
    const drained = await drainNode(c.nodes.get("n3")!);
    ctx.log(`${name}: drained n3: exit ${drained.exit} in ${drained.ms} ms`);
    await progress(step, "after n3 drained");

    const server = nats.servers[1]!;
    phases.mark(`kill-${server.name}`);
    await server.kill();
    await progress(step, `with ${server.name} down`);
    phases.mark(`restart-${server.name}`);
    await server.restart();
    await waitFor(async () => (await streamState(c.nc, c.name)).current === 3, {
      timeout: 30_000,
      interval: 200,
      message: "stream replicas not current after the restart",
    });

    phases.mark("rejoin-n2");
    c.start("n2");
    await c.waitStable(["n1", "n2", "n4"]);
    await progress(step, "after n2 came back");

    stop = true;
    if ((await bounded(load.done, 75_000)) === "timeout") load.abort();
    const result = await load.done;
    const k = await checkTransfers(c.nc, c.name, accounts, result, SEED);
    const failedChecks = [
      result.seeded !== accounts.length && `${accounts.length - result.seeded} accounts were not seeded`,
      k.moneyDrift !== 0 && `money not conserved: the balances sum to ${k.moneyDrift} more than was deposited`,
      k.negative.length > 0 && `${k.negative.length} accounts went negative: ${k.negative.slice(0, 5).join(", ")}`,
      k.foreignCredits.length > 0 && `${k.foreignCredits.length} credits without their debit: ${k.foreignCredits.slice(0, 3).join(", ")}`,
      k.stateDrift.length > 0 && `${k.stateDrift.length} balances differ from their journals: ${k.stateDrift.slice(0, 3).join("; ")}`,
      k.unreachable.length > 0 && `${k.unreachable.length} accounts unreachable at the end`,
      k.gaveUp > 0 && `${k.gaveUp} transfers never answered`,
      drained.exit !== 0 && `n3's drain ended with ${drained.exit}`,
    ].filter((f): f is string => typeof f === "string");
    return {
      lost: k.lostDebits.length + k.missingCredits.length,
      duplicated: k.repeatedDebits.length + k.repeatedCredits.length,
      orderViolations: 0,
      longestUnavailableMs: k.longestOutage.ms,
      failedChecks,
      notes: {
        acked: k.acked,
        rejected: k.rejected,
        debits: k.debits,
        credits: k.credits,
        quietAfterMs: k.quietAfterMs,
        rejectedButDebited: k.rejectedButDebited,
        failedByCode: k.failedByCode,
        outagePhases: k.longestOutage.phases,
        examples: [...k.lostDebits.slice(0, 3), ...k.missingCredits.slice(0, 3), ...k.repeatedCredits.slice(0, 3)],
        events: c.countEvents(),
      },
    };
  } finally {
    await close();
  }
}
