/**
 * Singletons on real `shoal node` processes (issue 15, part 6). Three nodes host 24 beacon
 * singletons (integration/fixtures/beacons.ts), each idle until armed; the test arms one that the
 * leader runs, so that killing the leader kills the singleton's host too, and reads the
 * singleton's journal straight from the stream: every activation journals a `hello`, every tick
 * its activation's id. The nodes run with a 20 s `memberTtl`, so only crash detection can explain
 * a restart within the bound.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type ClusterStatus, gatherClusterStatus } from "../cluster/cluster-status.js";
import { ShoalClient } from "../src/client.js";
import { BEACONS } from "./fixtures/beacons.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { waitFor } from "./kit/index.js";
import { activations, Journals, LIFE_ACTORS, overlaps } from "./life.js";

const SLOW_TTL = ["--member-ttl", "20000", "--heartbeat", "1000", "--leader-ttl", "20000"];
/** A singleton whose host was SIGKILLed runs again on another node within this (the TTL path could not before 20 s). */
const FAILOVER_BOUND = 8000;
const SHARDS = 64;
const bin = fileURLToPath(new URL("../bin/shoal.js", import.meta.url));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Polls `shoal status` until every beacon runs on exactly one node, its shard's owner; returns that status. */
async function everyBeaconOnce(c: TestCluster): Promise<ClusterStatus> {
  let status: ClusterStatus | undefined;
  await waitFor(
    async () => {
      status = await gatherClusterStatus(c.nc, c.name);
      return status.singletons.length === BEACONS && status.singletons.every((s) => s.nodes.length === 1 && s.nodes[0] === s.owner);
    },
    { timeout: 20_000, interval: 100 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}: the beacons did not each run once on their owner: ${JSON.stringify(status?.singletons)}`);
  });
  return status!;
}

describe("singletons on node processes", () => {
  it("a singleton runs exactly once across a leader kill", async () => {
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("sg"), { shards: SHARDS, args: [...SLOW_TTL, "--actors", LIFE_ACTORS] });
    cleanups.push(() => c.close());
    for (const id of ["g1", "g2", "g3"]) c.start(id);
    const [first] = await c.waitStable();
    const leader = first!.leader!;

    // Started without a message, each on its shard's owner; pick one the leader runs.
    const before = await everyBeaconOnce(c);
    const chosen = before.singletons.find((s) => s.nodes[0] === leader);
    expect(chosen, `no beacon on the leader ${leader} (of ${BEACONS}): ${JSON.stringify(before.singletons)}`).toBeDefined();
    const type = chosen!.type;
    const client = new ShoalClient(c.nc, c.name);
    cleanups.push(() => client.close());
    const journals = await Journals.open(c.nc, c.name);
    cleanups.push(() => journals.close());
    await client.ask(type, type, { arm: { every: 50 } });
    await waitFor(async () => (activations(await journals.of(type, type)).at(-1)?.ticks ?? 0) >= 10, {
      timeout: 10_000,
      message: `${type} does not tick on ${leader}`,
    });
    const lastOnLeader = activations(await journals.of(type, type)).length - 1;
    expect(activations(await journals.of(type, type))[lastOnLeader]!.node).toBe(leader);

    // SIGKILL the node that leads and runs the singleton; send the singleton nothing from here on.
    const t0 = Date.now();
    await c.nodes.get(leader)!.kill();
    let restarted: ReturnType<typeof activations>[number] | undefined;
    await waitFor(
      async () => {
        restarted = activations(await journals.of(type, type))
          .slice(lastOnLeader + 1)
          .find((a) => a.node !== leader);
        return restarted !== undefined && restarted.ticks >= 5;
      },
      { timeout: FAILOVER_BOUND + 10_000, interval: 50, message: `${type} did not run again after ${leader} was SIGKILLed` },
    );
    const ms = restarted!.at - t0;
    console.log(`[singleton] ${type} on leader ${leader} SIGKILLed: running again on ${restarted!.node} ${ms} ms later`);
    expect(ms).toBeLessThanOrEqual(FAILOVER_BOUND);

    // One activation at a time, all along: no tick of the killed node's activation after the new hello.
    const events = await journals.of(type, type);
    expect(overlaps(events)).toEqual([]);
    const acts = activations(events);
    expect(acts.filter((a) => a.node === leader).every((a) => a.at < restarted!.at)).toBe(true);
    expect(acts.at(-1)!.act).toBe(restarted!.act); // nothing started after it

    // A new leader, every beacon still once, and `shoal status` names the singleton's node.
    const survivors = ["g1", "g2", "g3"].filter((id) => id !== leader);
    const [after] = await c.waitStable(survivors, 30_000);
    expect(after!.leader).not.toBe(leader);
    const settled = await everyBeaconOnce(c);
    expect(settled.singletons.find((s) => s.type === type)!.nodes).toEqual([restarted!.node]);
    const run = promisify(execFile);
    const text = (await run(process.execPath, [bin, "status", "--nats", c.url, "--cluster", c.name])).stdout;
    expect(text).toMatch(/^SINGLETON\s+NODE$/m);
    expect(text).toMatch(new RegExp(`^${type}\\s+${restarted!.node}$`, "m"));
    const json = JSON.parse((await run(process.execPath, [bin, "status", "--json", "--nats", c.url, "--cluster", c.name])).stdout) as ClusterStatus;
    expect(json.singletons.find((s) => s.type === type)).toEqual({ type, nodes: [restarted!.node], owner: restarted!.node });
  }, 120_000);

  it("a frozen singleton host, replaced while it slept, appends nothing for the singleton when it wakes", async () => {
    // Short leases: the frozen host's membership expires (1.5 s) and its singleton runs elsewhere
    // before the server drops its connection for missed pings (~3 s), so it wakes a zombie whose
    // connection still works, with an overdue tick timer and the map that says it owns the shard.
    const fast = ["--member-ttl", "1500", "--heartbeat", "250", "--leader-ttl", "1500"];
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("sz"), { shards: SHARDS, args: [...fast, "--actors", LIFE_ACTORS] });
    cleanups.push(() => c.close());
    const ids = ["z1", "z2", "z3"];
    for (const id of ids) c.start(id);
    const [first] = await c.waitStable();
    // A singleton on a node that does not lead: the leader's own lease does not come into it.
    const before = await everyBeaconOnce(c);
    const chosen = before.singletons.find((s) => s.nodes[0] !== first!.leader)!;
    const [type, host] = [chosen.type, chosen.nodes[0]!];
    const client = new ShoalClient(c.nc, c.name);
    cleanups.push(() => client.close());
    const journals = await Journals.open(c.nc, c.name);
    cleanups.push(() => journals.close());
    await client.ask(type, type, { arm: { every: 20 } });
    await waitFor(async () => (activations(await journals.of(type, type)).at(-1)?.ticks ?? 0) >= 10, { timeout: 10_000, message: `${type} does not tick` });
    const acts = activations(await journals.of(type, type)).length;

    // Freeze the host until another node runs the singleton, then wake it at once.
    const zombie = c.nodes.get(host)!;
    zombie.child.kill("SIGSTOP");
    cleanups.push(async () => zombie.child.kill("SIGCONT"));
    const t0 = Date.now();
    let next: ReturnType<typeof activations>[number] | undefined;
    await waitFor(
      async () => {
        next = activations(await journals.of(type, type))
          .slice(acts)
          .find((a) => a.node !== host);
        return next !== undefined && next.ticks >= 3;
      },
      { timeout: 20_000, interval: 20, message: `${type} did not run again while ${host} was frozen` },
    );
    zombie.child.kill("SIGCONT");
    const woke = Date.now();
    console.log(`[singleton] ${type}'s host ${host} frozen: running again on ${next!.node} ${next!.at - t0} ms later; woken after ${woke - t0} ms`);
    await c.waitStable(ids, 30_000);
    await waitFor(async () => (activations(await journals.of(type, type)).at(-1)?.ticks ?? 0) >= 10, { timeout: 10_000, message: `${type} stopped ticking` });

    // The zombie's overdue ticks were refused (its lease had lapsed; behind that, the journal's
    // expected version): none of them follows the new activation's hello.
    const events = await journals.of(type, type);
    expect(overlaps(events)).toEqual([]);
    const reconnected = zombie.logs.includes("membership re-confirmed after a lapse");
    console.log(
      `[singleton] ${host} woke ${reconnected ? "and re-confirmed its lapsed membership" : "(no lapse logged)"}; activations: ${JSON.stringify(activations(events).map((a) => [a.node, a.ticks]))}`,
    );
  }, 120_000);
});
