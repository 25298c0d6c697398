/**
 * SIGKILL a source node while its shards are moving: a 4th node joins under load, and the
 * moment the leader publishes the map that moves shards to it, one source of those moves
 * (not the leader) is killed, mid-handoff. Nothing acknowledged may be lost or applied twice.
 */
import { startNatsServer } from "../kit/index.js";
import { ChaosCluster, leaderOf, startLoad, withChecks } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "owner-kill-mid-migration";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const server = await startNatsServer();
  const c = await ChaosCluster.create([server.url], "okm");
  try {
    for (const id of ["n1", "n2", "n3"]) c.start(id);
    const leader = leaderOf(await c.waitStable(["n1", "n2", "n3"]));
    const load = startLoad(c, { accounts: 40, senders: 4 });
    await load.progress(ctx.fast ? 100 : 200, "steady");

    load.phases.mark("join");
    const published = c.nextEvent(
      (e) => e.type === "map.published" && e.moves > 0 && e.sample.some((m) => m.to === "n4" && m.from !== null && m.from !== leader),
    );
    c.start("n4");
    const ev = await published;
    const sample = ev.type === "map.published" ? ev.sample : [];
    const victim = sample.find((m) => m.to === "n4" && m.from !== null && m.from !== leader)!.from!;
    // Kill at once: the source has paused its shards and is handing them off right now.
    await c.nodes.get(victim)!.kill();
    load.phases.mark("crash");
    const completedBefore = c.events.filter((e) => e.type === "migration" && e.from === victim && e.phase === "completed").length;
    ctx.log(`${name}: killed ${victim} mid-migration (${completedBefore} of its moves had completed)`);

    const survivors = c.running().map((n) => n.id);
    await c.waitStable(survivors);
    load.phases.mark("after");
    await load.progress(ctx.fast ? 100 : 200, "after the crash");
    const r = await load.finish();
    const gaveUp = r.notes.gaveUp as number;
    return withChecks(r, [gaveUp > 0 && `${gaveUp} requests never acknowledged`], {
      victim,
      movesToN4: sample.filter((m) => m.to === "n4").length,
      victimMovesCompletedBeforeKill: completedBefore,
      events: c.countEvents(),
    });
  } finally {
    await c.close();
    await server.stop();
  }
}
