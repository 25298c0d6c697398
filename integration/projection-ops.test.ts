/**
 * What operators do with projections, on real NATS through the `shoal` CLI (issue 16): a
 * poison event is dead-lettered after its retries and `shoal dlq retry` applies it once the
 * handler is fixed; a partition that stops on failure resumes with `shoal projection resume`;
 * a blue-green rebuild under live traffic switches reads with no gap and no stale read.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AccountEvent, account } from "../src/actors/account.js";
import { defineProjection } from "../src/projection/define.js";
import type { FailureAction } from "../src/projection/spec.js";
import { ProjectionView } from "../src/projection/view-reader.js";
import { accountBalances, type BalanceRow, balanceDelta } from "../src/projections/account-balances.js";
import { startTestCluster } from "../testing/index.js";
import { foldAccountJournals } from "./journal-fold.js";
import { waitFor } from "./kit/index.js";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../bin/shoal.js", import.meta.url));
const shoal = async (cluster: string, ...args: string[]) => {
  try {
    const r = await run("node", [bin, ...args, "--nats", inject("natsUrl"), "--cluster", cluster]);
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
};

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: inject("natsUrl") });
});
afterAll(() => nc.close());

/** A ledger of deposits that fails on the txn "poison" while `broken.now`; each row counts applications. */
function ledger(name: string, action: FailureAction, broken: { now: boolean }) {
  return defineProjection<AccountEvent, { total: number; applied: number }>({
    name,
    from: [account],
    partitions: 2,
    onFailure: { retries: 2, backoff: 10, action },
    async handle({ id, event }, { view }) {
      if (broken.now && "deposited" in event && event.deposited.txn === "poison") throw new Error("cannot handle poison");
      const row = (await view.get(id)) ?? { total: 0, applied: 0 };
      view.set(id, { total: row.total + balanceDelta(event), applied: row.applied + 1 });
    },
  });
}

describe("projection failures", () => {
  it("dead-letters a poison event after its retries; shoal dlq retry applies it once, when fixed", async () => {
    const broken = { now: true };
    await using cluster = await startTestCluster({
      actors: [account],
      projections: [ledger("ledger", "dead-letter", broken)],
      nodes: 2,
      natsUrl: inject("natsUrl"),
    });
    const alice = cluster.ref(account, "alice");
    await alice.ask({ deposit: { amount: 5, txn: "a" } });
    await alice.ask({ deposit: { amount: 7, txn: "poison" } });
    await alice.ask({ deposit: { amount: 11, txn: "b" } });
    const view = await ProjectionView.open<{ total: number; applied: number }>(nc, cluster.cluster, "ledger");
    // The partition goes on past the poison: 5 + 11, two events applied.
    await waitFor(async () => (await view.get("alice"))?.value.applied === 2, { timeout: 15_000, interval: 50 });
    expect((await view.get("alice"))?.value).toEqual({ total: 16, applied: 2 });

    const listed = await shoal(cluster.cluster, "dlq", "list", "--json");
    expect(listed.code).toBe(0);
    const letters = JSON.parse(listed.out) as Array<{ key: string; id: string; attempts: number; error: string; event: unknown }>;
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ id: "alice", attempts: 3, event: { deposited: { amount: 7, txn: "poison" } } });
    expect(letters[0]!.error).toMatch(/cannot handle poison/);
    const key = letters[0]!.key;
    // Every node counts the letters waiting (the metric and the dashboard read this).
    await waitFor(() => cluster.nodes.every((n) => n.projections().deadLetters.get("ledger") === 1), { timeout: 5000, interval: 20 });
    expect((await shoal(cluster.cluster, "dlq", "list")).out).toMatch(new RegExp(`${key.replace(/\./g, "\\.")}\\s+account/alice@2\\s+3`));

    // Still broken: the retry fails again and the letter stays, with more attempts.
    const again = await shoal(cluster.cluster, "dlq", "retry", key, "--wait", "10000");
    expect(again).toMatchObject({ code: 1 });
    expect(again.out).toMatch(/failed again after 6 attempts/);
    expect((await view.get("alice"))?.value).toEqual({ total: 16, applied: 2 });

    broken.now = false;
    const fixed = await shoal(cluster.cluster, "dlq", "retry", key, "--wait", "10000");
    expect(fixed).toEqual({ code: 0, out: `${key}: applied\n` });
    await waitFor(() => cluster.nodes.every((n) => n.projections().deadLetters.get("ledger") === undefined), { timeout: 5000, interval: 20 });
    expect((await view.get("alice"))?.value).toEqual({ total: 23, applied: 3 });
    // Once: a second retry finds nothing, and the view is unchanged.
    expect(await shoal(cluster.cluster, "dlq", "retry", key)).toMatchObject({ code: 1, out: `${key}: no such dead letter\n` });
    expect((await shoal(cluster.cluster, "dlq", "list")).out).toBe("no dead letters\n");
    expect((await view.get("alice"))?.value).toEqual({ total: 23, applied: 3 });

    // Another poison, shown and then dropped: it stays unapplied.
    broken.now = true;
    await alice.ask({ deposit: { amount: 100, txn: "poison" } }); // same txn: not applied again by the actor
    await alice.ask({ withdraw: { amount: 1, txn: "poison-2" } });
    const dave = cluster.ref(account, "dave");
    await dave.ask({ deposit: { amount: 9, txn: "poison" } });
    await waitFor(async () => (await shoal(cluster.cluster, "dlq", "list", "--json")).out.includes('"dave"'), { timeout: 15_000, interval: 100 });
    const daveKey = (JSON.parse((await shoal(cluster.cluster, "dlq", "list", "--json")).out) as Array<{ key: string; id: string }>).find(
      (d) => d.id === "dave",
    )!.key;
    const shown = await shoal(cluster.cluster, "dlq", "show", daveKey, "--json");
    expect(JSON.parse(shown.out)).toMatchObject({ key: daveKey, projection: "ledger", type: "account", id: "dave", version: 1, state: "dead" });
    expect(await shoal(cluster.cluster, "dlq", "drop", daveKey)).toEqual({ code: 0, out: `${daveKey}: dropped\n` });
    expect(await shoal(cluster.cluster, "dlq", "show", daveKey)).toMatchObject({ code: 1, out: `no dead letter ${daveKey}\n` });
    expect(await view.get("dave")).toBeUndefined();
    await waitFor(async () => (await view.get("alice"))?.value.applied === 4, { timeout: 15_000, interval: 50 });
    expect((await view.get("alice"))?.value).toEqual({ total: 22, applied: 4 });
  }, 60_000);

  it("stops a partition on a failing event and alerts; shoal projection resume applies it once fixed", async () => {
    const broken = { now: true };
    await using cluster = await startTestCluster({ actors: [account], projections: [ledger("stopper", "stop", broken)], nodes: 2, natsUrl: inject("natsUrl") });
    const bob = cluster.ref(account, "bob");
    await bob.ask({ deposit: { amount: 5, txn: "a" } });
    await bob.ask({ deposit: { amount: 7, txn: "poison" } });
    await bob.ask({ deposit: { amount: 11, txn: "b" } });
    const view = await ProjectionView.open<{ total: number; applied: number }>(nc, cluster.cluster, "stopper");
    await waitFor(async () => (await view.checkpoints()).some((cp) => cp?.stopped !== undefined), { timeout: 15_000, interval: 50 });
    expect((await view.get("bob"))?.value).toEqual({ total: 5, applied: 1 }); // stopped before the poison, nothing after it
    const status = await shoal(cluster.cluster, "projection", "status", "stopper");
    expect(status.out).toMatch(/STOPPED: Error: cannot handle poison/);
    broken.now = false;
    expect((await shoal(cluster.cluster, "projection", "resume", "stopper")).code).toBe(0);
    await waitFor(async () => (await view.get("bob"))?.value.applied === 3, { timeout: 15_000, interval: 50 });
    expect((await view.get("bob"))?.value).toEqual({ total: 23, applied: 3 });
    expect((await view.checkpoints()).every((cp) => cp?.stopped === undefined)).toBe(true);
  }, 60_000);
});

describe("shoal replay projection", () => {
  it("checkpoint-only hands the events to the handler again over the kept view; full-reset builds it anew", async () => {
    await using cluster = await startTestCluster({
      actors: [account],
      projections: [ledger("replayer", "skip", { now: false })],
      nodes: 2,
      natsUrl: inject("natsUrl"),
    });
    for (const txn of ["a", "b", "c"]) await cluster.ref(account, "carol").ask({ deposit: { amount: 1, txn } });
    const view = await ProjectionView.open<{ total: number; applied: number }>(nc, cluster.cluster, "replayer");
    await waitFor(async () => (await view.get("carol"))?.value.applied === 3, { timeout: 15_000, interval: 50 });
    const again = await shoal(cluster.cluster, "replay", "projection", "replayer", "--mode", "checkpoint-only");
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/replayer: build 1's checkpoints set back/) });
    // At least once over the kept view: this handler counts every application.
    await waitFor(async () => (await view.get("carol"))?.value.applied === 6, { timeout: 20_000, interval: 100 });
    const reset = await shoal(cluster.cluster, "replay", "projection", "replayer", "--mode", "full-reset", "--json");
    expect(JSON.parse(reset.out)).toEqual({ projection: "replayer", mode: "full-reset", build: 2 });
    await waitFor(async () => (await view.meta()).serving === 2, { timeout: 30_000, interval: 100 });
    expect((await view.get("carol"))?.value).toEqual({ total: 3, applied: 3 });
    expect((await shoal(cluster.cluster, "replay", "projection", "replayer", "--mode", "wipe")).code).toBe(2);
  }, 90_000);
});

describe("blue-green rebuild", () => {
  it("switches reads to the new build under live traffic with no gap and no stale read", async () => {
    await using cluster = await startTestCluster({ actors: [account], projections: [accountBalances], nodes: 2, natsUrl: inject("natsUrl") });
    const ids = Array.from({ length: 20 }, (_, i) => `rb-${i}`);
    // Enough history that the new build needs a while to catch up: a switch before it has would show.
    for (let r = 0; r < 150; r++) await Promise.all(ids.map((id) => cluster.ref(account, id).ask({ deposit: { amount: 1, txn: `first-${id}-${r}` } })));
    const view = await ProjectionView.open<BalanceRow>(nc, cluster.cluster, "account-balances");
    await waitFor(async () => (await Promise.all(ids.map((id) => view.get(id)))).every((e) => e !== undefined), { timeout: 15_000, interval: 50 });

    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        const id = ids[n % ids.length]!;
        await cluster.ref(account, id).ask({ deposit: { amount: 1 + (n % 5), txn: `live-${n++}` } });
      }
    })();
    // Readers: every account's version never goes back, and no read finds an account missing.
    const seen = new Map<string, number>();
    const problems: string[] = [];
    const builds = new Set<number>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        for (const id of ids) {
          const e = await view.get(id);
          if (e === undefined) problems.push(`${id} missing`);
          else {
            builds.add(e.build);
            if (e.value.version < (seen.get(id) ?? 0)) problems.push(`${id} went back from ${seen.get(id)} to ${e.value.version} (build ${e.build})`);
            seen.set(id, e.value.version);
          }
        }
      }
    })();
    const started = await shoal(cluster.cluster, "projection", "rebuild", "account-balances");
    expect(started.out).toMatch(/rebuilding account-balances as build 2/);
    await waitFor(async () => (await view.meta()).serving === 2, { timeout: 30_000, interval: 50, message: "build 2 never took over" });
    const switchedAt = n;
    await waitFor(() => n >= switchedAt + 50, { timeout: 15_000, interval: 10 });
    writing = false;
    await writer;
    reading = false;
    await reader;
    expect(problems).toEqual([]);
    expect([...builds].sort()).toEqual([1, 2]);
    // The old build is purged after its grace; the new one equals the fold.
    const { rows } = await foldAccountJournals(nc, cluster.cluster);
    await waitFor(async () => (await Promise.all(ids.map(async (id) => (await view.get(id))?.value.version === rows.get(id)!.version))).every(Boolean), {
      timeout: 15_000,
      interval: 50,
    });
    for (const id of ids) expect((await view.get(id))?.value).toEqual(rows.get(id));
    await waitFor(async () => (await view.meta()).retired === undefined, { timeout: 30_000, interval: 200, message: "build 1 was never purged" });
    expect(await view.checkpoints(1)).toEqual([]);
  }, 90_000);

  it("switches on a quiet journal too, and a rebuild may change the partition count", async () => {
    await using cluster = await startTestCluster({ actors: [account], projections: [accountBalances], nodes: 2, natsUrl: inject("natsUrl") });
    const ids = Array.from({ length: 10 }, (_, i) => `q-${i}`);
    await Promise.all(ids.map((id) => cluster.ref(account, id).ask({ deposit: { amount: 2, txn: `q-${id}` } })));
    const view = await ProjectionView.open<BalanceRow>(nc, cluster.cluster, "account-balances");
    expect((await shoal(cluster.cluster, "projection", "rebuild", "account-balances", "--partitions", "3")).code).toBe(0);
    expect((await shoal(cluster.cluster, "projection", "rebuild", "account-balances")).out).toMatch(/build 2 is being made already/);
    await waitFor(async () => (await view.meta()).serving === 2, { timeout: 30_000, interval: 100, message: "build 2 never took over a quiet journal" });
    expect((await view.meta()).builds["2"]?.partitions).toBe(3);
    for (const id of ids) expect((await view.get(id))?.value).toEqual({ balance: 2, version: 1 });
  }, 60_000);
});
