/**
 * One node cut off from NATS (a TCP proxy between it and the server is cut: live connections
 * destroyed, new ones refused) for 30 s (6 s in the CI subset), then healed. Its shards move
 * away once its membership expires; whatever it buffered while cut and sends on reconnecting
 * must be fenced. Afterwards it rejoins and gets shards again.
 */
import { startNatsServer, startProxy } from "../kit/index.js";
import { ChaosCluster, leaderOf, startLoad, startWithIsolatedNode, withChecks } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "node-cut-from-nats";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const server = await startNatsServer();
  const proxy = await startProxy(server.port);
  const c = await ChaosCluster.create([server.url], "cut");
  const cutMs = ctx.fast ? 6000 : 30_000;
  try {
    const before = await startWithIsolatedNode(c, `nats://127.0.0.1:${proxy.port}`);
    const load = startLoad(c, { accounts: 40, senders: 4 });
    await load.progress(100, "steady");

    load.phases.mark("cut");
    const cutAt = Date.now();
    proxy.cut();
    ctx.log(`${name}: n3 cut for ${cutMs} ms`);
    await c.waitStable(["n1", "n2"]);
    const movedAwayMs = Date.now() - cutAt;
    await load.progress(50, "while n3 is cut");
    const left = cutMs - (Date.now() - cutAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));

    load.phases.mark("healed");
    proxy.heal();
    const healedAt = Date.now();
    const after = await c.waitStable(["n1", "n2", "n3"]);
    const rejoinMs = Date.now() - healedAt;
    await load.progress(100, "after the heal");
    const r = await load.finish();
    const n3 = after.find((s) => s.node === "n3");
    return withChecks(
      r,
      [
        !(n3 !== undefined && n3.shards > 0) && "n3 did not get shards back after the heal",
        !c.nodes.get("n3")!.running && "n3 exited",
        r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`,
      ],
      { cutMs, leader: leaderOf(before), shardsMovedAwayAfterMs: movedAwayMs, rejoinedAfterHealMs: rejoinMs, events: c.countEvents() },
    );
  } finally {
    await c.close();
    await proxy.stop();
    await server.stop();
  }
}
