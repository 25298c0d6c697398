/**
 * SIGSTOP an owner past its membership TTL under load, wait until its shards have moved, then
 * SIGCONT it: everything it appends between waking and the first map that gives it shards
 * again is a zombie's write and must be rejected by the store (never stored).
 */
import { encodeToken } from "../../src/codec/token.js";
import { startNatsServer } from "../kit/index.js";
import { ownerOf, readJournal, tapJournalWrites } from "../workload.js";
import { ChaosCluster, leaderOf, startLoad, withChecks } from "./harness.js";
import type { ScenarioContext, ScenarioResult } from "./types.js";

export const name = "zombie-owner-sigstop";

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const server = await startNatsServer();
  const c = await ChaosCluster.create([server.url], "zo");
  try {
    const ids = ["n1", "n2", "n3"];
    for (const id of ids) c.start(id);
    const leader = leaderOf(await c.waitStable(ids));
    const load = startLoad(c, { accounts: 30, senders: 4, askTimeout: 1500 });
    // The zombie: the owner of acct-0 unless that is the leader, else of the first account a plain member owns.
    let zombieId = "";
    for (const a of load.accounts) {
      const o = await ownerOf(c.nc, c.name, "account", a, { balance: {} });
      if (o !== leader) {
        zombieId = o;
        break;
      }
    }
    const taps = load.accounts.map((a) => tapJournalWrites(c.nc, c.name, "account", a));
    await Promise.all(taps.map((t) => t.ready));
    await load.progress(100, "before the stop");

    load.phases.mark("stopped");
    const zombie = c.nodes.get(zombieId)!;
    zombie.signal("SIGSTOP");
    // Journal lengths as the stop left them: a write already on its way (a turn past the fence
    // whose publish sat in the client's buffer) may still land at exactly that version on waking.
    const atStop = await Promise.all(load.accounts.map(async (a) => (await readJournal(c.nc, c.name, "account", a)).length));
    const others = ids.filter((id) => id !== zombieId);
    await c.waitStable(others);
    await load.progress(30, "while the owner is stopped");
    const stopMs = ctx.fast ? 6000 : 10_000; // ≥ 2 × member TTL (3 s)
    await new Promise((r) => setTimeout(r, stopMs));

    load.phases.mark("woken");
    const wokenAt = Date.now();
    zombie.signal("SIGCONT");
    await c.waitStable(ids);
    await load.progress(100, "after the wake-up");
    const r = await load.finish();
    for (const t of taps) t.stop();

    // Every write the zombie sent before a fresh map gave it shards, and which of them were stored.
    const regainedAt = zombie.firstOwnership(wokenAt);
    const token = encodeToken(zombieId);
    const expected = (w: { msgId: string }) => Number(w.msgId.slice(w.msgId.lastIndexOf("@") + 1));
    const stale = taps.flatMap((t, i) =>
      t.writes.filter((w) => w.at >= wokenAt && w.at < regainedAt && w.writer.split(":")[0] === token).map((w) => ({ ...w, atStop: atStop[i]! })),
    );
    const stored = new Set<string>();
    for (const a of load.accounts) for (const e of await readJournal(c.nc, c.name, "account", a)) stored.add(e.writer);
    // Stale = decided after the stop (expecting a version beyond the one the stop left) and stored.
    const staleStored = stale.filter((w) => stored.has(w.writer) && expected(w) > w.atStop);
    ctx.log(`${name}: ${zombieId} stopped ${stopMs} ms; ${stale.length} stale writes after waking, ${staleStored.length} stored`);
    return withChecks(
      r,
      [
        staleStored.length > 0 && `${staleStored.length} writes of the woken zombie were stored`,
        r.notes.gaveUp !== 0 && `${String(r.notes.gaveUp)} requests never acknowledged`,
      ],
      {
        zombie: zombieId,
        stopMs,
        staleWritesTried: stale.length,
        staleWritesStored: staleStored.length,
        regainedShardsAfterWakeMs: Number.isFinite(regainedAt) ? regainedAt - wokenAt : null,
        events: c.countEvents(),
      },
    );
  } finally {
    await c.close();
    await server.stop();
  }
}
