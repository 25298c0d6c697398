/**
 * The CI subset of the chaos suite (`npm run chaos` runs all of it, several times): a source
 * node SIGKILLed mid-migration, a deleted leader key, a rolling restart under load, and
 * transfers between accounts through a kill, a join, a drain and a NATS server restart, each
 * once, with short faults. The scenarios live in integration/chaos/.
 */
import { describe, expect, it } from "vitest";
import * as leaderDelete from "./chaos/leader-delete.js";
import * as ownerKill from "./chaos/owner-kill-mid-migration.js";
import * as rollingRestart from "./chaos/rolling-restart.js";
import * as transfers from "./chaos/transfers.js";
import type { ScenarioContext, ScenarioResult } from "./chaos/types.js";

const ctx: ScenarioContext = { fast: true, log: (line) => console.log(`[chaos] ${line}`) };

function expectClean(name: string, r: ScenarioResult): void {
  console.log(`[chaos/${name}] ${JSON.stringify(r)}`);
  expect({ lost: r.lost, duplicated: r.duplicated, orderViolations: r.orderViolations, failedChecks: r.failedChecks }).toEqual({
    lost: 0,
    duplicated: 0,
    orderViolations: 0,
    failedChecks: [],
  });
  // Not vacuous: the load really ran.
  expect(r.notes.acked as number).toBeGreaterThan(100);
}

describe("chaos (CI subset)", () => {
  it("SIGKILL of a source node mid-migration loses and duplicates nothing", async () => {
    expectClean(ownerKill.name, await ownerKill.run(ctx));
  }, 60_000);

  it("after the leader key is deleted, exactly one node leads, with a higher epoch", async () => {
    expectClean(leaderDelete.name, await leaderDelete.run(ctx));
  }, 40_000);

  it("transfers between accounts: every debit credited exactly once, money conserved, through a kill, a join, a drain and a NATS server restart", async () => {
    const r = await transfers.run(ctx);
    expectClean(transfers.name, r);
    expect(r.notes.credits).toBe(r.notes.debits);
  }, 180_000);

  it("a rolling restart of every node under load fails no request for good", async () => {
    const r = await rollingRestart.run(ctx);
    expectClean(rollingRestart.name, r);
    expect(r.notes.gaveUp).toBe(0);
  }, 60_000);
});
