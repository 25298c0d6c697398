/**
 * Kill every NATS server (SIGKILL, all three) under load, then restart them from their stores.
 * Every acknowledged deposit must be in the journal, and the journal stream must be the one
 * from before (same creation time, starting at sequence 1): not a fresh, empty stream that a
 * reconnecting node created in its place. Then the stream is deleted (a store lost for good)
 * and a new node started: it must not create an empty journal either.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { streamName } from "../../src/nats-names.js";
import { startLoad, withChecks } from "./harness.js";
import { startR3, streamState } from "./r3.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "nats-full-restart";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { nats, c, close } = await startR3("fr");
  try {
    const load = startLoad(c, { accounts: 40, senders: 4, maxRetryMs: 90_000 });
    await load.progress(200, "steady");
    const before = await streamState(c.nc, c.name);
    const ackedBefore = load.bank.summary().acked;

    load.phases.mark("all-down");
    const t0 = Date.now();
    await Promise.all(nats.servers.map((s) => s.kill()));
    ctx.log(`${name}: killed all ${nats.servers.length} servers`);
    await new Promise((r) => setTimeout(r, ctx.fast ? 2000 : 5000));
    load.phases.mark("restarting");
    // All at once: with JetStream no single server is healthy before a quorum exists.
    await Promise.all(nats.servers.map((s) => s.restart()));
    const downMs = Date.now() - t0;
    load.phases.mark("after");
    await c.waitStable(undefined, 60_000);
    await load.progress(200, "after the restart", 60_000);
    const r = await load.finish();
    const after = await streamState(c.nc, c.name);

    // Now the journal really goes missing (a lost store): a node starting up must refuse to
    // create an empty one in its place, and the running nodes must not either.
    const jsm = await jetstreamManager(c.nc);
    await jsm.streams.delete(streamName(c.name));
    const late = c.start("n-late");
    await new Promise((r) => setTimeout(r, ctx.fast ? 4000 : 8000));
    const recreated = await jsm.streams.info(streamName(c.name)).then(
      () => true,
      () => false,
    );
    const lateServing = late.running && (await c.statuses(["n-late"])).length > 0;
    return withChecks(
      r,
      [
        after.created !== before.created && `the stream was re-created (${before.created} → ${after.created})`,
        after.firstSeq !== before.firstSeq && `the stream's first sequence changed (${before.firstSeq} → ${after.firstSeq})`,
        after.messages < before.messages && `the stream lost messages (${before.messages} → ${after.messages})`,
        recreated && "a deleted journal stream was silently re-created",
        lateServing && "a node started (and serves) without its journal stream",
        r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`,
      ],
      {
        downMs,
        ackedBeforeKill: ackedBefore,
        afterDelete: { recreated, lateNodeRunning: late.running, lateNodeServing: lateServing },
        streamBefore: before,
        streamAfter: after,
        events: c.countEvents(),
      },
    );
  } finally {
    await close();
  }
}
