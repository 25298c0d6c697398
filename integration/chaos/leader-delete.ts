/**
 * Leader election after a delete marker: someone deletes the leader key (a raw KV delete, as
 * an operator's `nats kv del` would). Afterwards exactly one node leads, with a higher epoch,
 * and no sample of the nodes' statuses ever shows two leaders at once.
 */
import { Kvm } from "@nats-io/kv";
import { clusterBuckets } from "../../src/nats-names.js";
import { startNatsServer } from "../kit/index.js";
import { ChaosCluster, leaderOf, startLoad, withChecks } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "leader-delete-marker";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const server = await startNatsServer();
  const c = await ChaosCluster.create([server.url], "ldm");
  try {
    const ids = ["n1", "n2", "n3"];
    for (const id of ids) c.start(id);
    const before = await c.waitStable(ids);
    const oldLeader = leaderOf(before);
    const oldEpoch = before.find((s) => s.isLeader)?.epoch ?? 0;
    const load = startLoad(c, { accounts: 20, senders: 2, thinkMs: 10 });
    await load.progress(50, "steady");

    const kv = await new Kvm(c.nc).open(clusterBuckets(c.name).leader);
    load.phases.mark("deleted");
    const deletedAt = Date.now();
    await kv.delete("leader");
    // Sample every node's belief for a while: two nodes that both say "I lead" is the bug.
    let maxLeaders = 0;
    const seen: string[] = [];
    while (Date.now() - deletedAt < (ctx.fast ? 5000 : 10_000)) {
      const s = await c.statuses(ids);
      const leading = s.filter((x) => x.isLeader);
      maxLeaders = Math.max(maxLeaders, leading.length);
      for (const l of leading) if (!seen.includes(`${l.node}@${l.epoch}`)) seen.push(`${l.node}@${l.epoch}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await c.waitStable(ids);
    const leaders = after.filter((s) => s.isLeader);
    const newEpoch = leaders[0]?.epoch ?? 0;
    const entry = await kv.get("leader");
    ctx.log(`${name}: ${oldLeader}@${oldEpoch} → ${leaders.map((l) => `${l.node}@${l.epoch}`).join(",")}`);
    load.phases.mark("after");
    await load.progress(50, "after the new election");
    const r = await load.finish();
    const elected = c.events.filter((e) => e.type === "leader.elected" && e.at >= deletedAt - 1000);
    return withChecks(
      r,
      [
        leaders.length !== 1 && `${leaders.length} leaders after the election`,
        maxLeaders > 1 && `a status sample showed ${maxLeaders} leaders at once`,
        !(newEpoch > oldEpoch) && `epoch did not grow: ${oldEpoch} → ${newEpoch}`,
        (entry === null || entry.operation !== "PUT") && `the leader key is not held afterwards (${entry?.operation ?? "absent"})`,
        r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`,
      ],
      { oldLeader, oldEpoch, newLeader: leaders[0]?.node, newEpoch, leadersSampled: seen, maxLeadersInOneSample: maxLeaders, electedEvents: elected.length },
    );
  } finally {
    await c.close();
    await server.stop();
  }
}
