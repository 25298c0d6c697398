/**
 * Kill one of 3 NATS servers, repeatedly (SIGKILL, a pause, restart; 3 times, a different
 * server each time), under bank load, with R3 buckets and stream and nodes connected to all
 * three servers. Nothing acknowledged may be lost or applied twice.
 */
import { waitFor } from "../kit/index.js";
import { startLoad, withChecks } from "./harness.js";
import { startR3, streamState } from "./r3.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "nats-server-kill-r3";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { nats, c, close } = await startR3("nk");
  try {
    const load = startLoad(c, { accounts: 40, senders: 4 });
    await load.progress(100, "steady");
    const rounds: Array<{ server: string; downMs: number; restartMs: number }> = [];
    for (let i = 0; i < 3; i++) {
      const s = nats.servers[i % 3]!;
      load.phases.mark(`kill-${s.name}`);
      const t0 = Date.now();
      await s.kill();
      ctx.log(`${name}: killed ${s.name}`);
      await load.progress(50, `with ${s.name} down`);
      const stay = (ctx.fast ? 2000 : 5000) - (Date.now() - t0);
      if (stay > 0) await new Promise((r) => setTimeout(r, stay));
      load.phases.mark(`restart-${s.name}`);
      const t1 = Date.now();
      await s.restart();
      rounds.push({ server: s.name!, downMs: t1 - t0, restartMs: Date.now() - t1 });
      // The restarted replica catches up before the next kill, or a kill could take the quorum.
      await waitFor(async () => (await streamState(c.nc, c.name)).current === 3, {
        timeout: 30_000,
        interval: 200,
        message: "stream replicas not current after a restart",
      });
      await load.progress(50, `after ${s.name} restarted`);
    }
    await c.waitStable();
    const r = await load.finish();
    const st = await streamState(c.nc, c.name);
    return withChecks(
      r,
      [r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`, st.replicas !== 3 && `stream has ${st.replicas} replicas`],
      {
        rounds,
        stream: st,
        events: c.countEvents(),
      },
    );
  } finally {
    await close();
  }
}
