/**
 * Rolling restart under load: each original node in turn gets a replacement, then drains
 * (SIGTERM) and exits. Callers may see retried attempts but no request may fail for good.
 */
import { startNatsServer } from "../kit/index.js";
import { ChaosCluster, drainNode, startLoad, withChecks } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "rolling-restart";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const server = await startNatsServer();
  const c = await ChaosCluster.create([server.url], "rr");
  try {
    const ids = ["n1", "n2", "n3"];
    for (const id of ids) c.start(id);
    await c.waitStable(ids);
    const load = startLoad(c, { accounts: 40, senders: 4 });
    await load.progress(100, "steady");
    const drains: Array<{ node: string; exit: number | null | "timeout"; ms: number }> = [];
    for (const id of ids) {
      load.phases.mark(`start-${id}b`);
      c.start(`${id}b`);
      await c.waitStable();
      await load.progress(ctx.fast ? 30 : 100, `after ${id}b joined`);
      load.phases.mark(`drain-${id}`);
      const d = await drainNode(c.nodes.get(id)!);
      drains.push({ node: id, ...d });
      ctx.log(`${name}: drained ${id}: exit ${d.exit} in ${d.ms} ms`);
      await c.waitStable();
      await load.progress(ctx.fast ? 30 : 100, `after ${id} drained`);
    }
    const r = await load.finish();
    return withChecks(
      r,
      [
        ...drains.map((d) => d.exit !== 0 && `${d.node} drain ended with ${d.exit}`),
        r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`,
      ],
      { drains, events: c.countEvents() },
    );
  } finally {
    await c.close();
    await server.stop();
  }
}
