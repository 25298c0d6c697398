/**
 * Crash detection by probing (cluster/failure-detector.ts), with real `shoal node` processes:
 * a SIGKILLed owner's actors, and a SIGKILLed leader's, answer again from the journal long
 * before their membership records could age out (the nodes run with a 20 s `memberTtl`, so
 * only the probes can explain it); and killing one of three NATS servers, which makes the
 * nodes connected to it vanish from the others' view of subscriptions while they reconnect,
 * declares nobody gone.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, inject, it } from "vitest";
import { probeStatus } from "../cluster/status.js";
import { ShoalClient } from "../src/client.js";
import { ShoalError } from "../src/errors.js";
import { nodeAskSubject } from "../src/nats-names.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { type RunningCluster, startNatsCluster, waitFor } from "./kit/index.js";

/** Membership and the leader lease would take 20 s to expire: far longer than any bound below. */
const SLOW_TTL = ["--member-ttl", "20000", "--heartbeat", "1000", "--leader-ttl", "20000"];
/** A crashed owner's actors answer again within this (the TTL path could not before 20 s). */
const FAILOVER_BOUND = 8000;
const SHARDS = 64;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Balance {
  balance: number;
  node: string;
}

/** An account owned by a node for which `want(owner)` holds, with one deposit in its journal. */
async function accountOn(client: ShoalClient, want: (owner: string) => boolean): Promise<{ id: string; owner: string }> {
  for (let k = 0; k < 1000; k++) {
    const id = `fo-${process.pid}-${k}`;
    const { node } = await client.ask<Balance>("account", id, { balance: {} });
    if (!want(node)) continue;
    await client.ask("account", id, { deposit: { amount: 7, txn: `t-${id}` } });
    return { id, owner: node };
  }
  throw new Error("no account on the wanted node in 1000 tries");
}

/** Asks until a node other than `dead` answers; returns the answer and the ms since `t0`. */
async function answerAfterCrash(client: ShoalClient, id: string, dead: string, t0: number): Promise<Balance & { ms: number }> {
  for (;;) {
    const r = await client.ask<Balance>("account", id, { balance: {} }, { timeout: 500 }).catch((err: unknown) => {
      if (ShoalError.is(err)) return undefined;
      throw err;
    });
    if (r !== undefined) {
      expect(r.node).not.toBe(dead);
      return { ...r, ms: Date.now() - t0 };
    }
    if (Date.now() - t0 > FAILOVER_BOUND) throw new Error(`no answer for ${id} within ${FAILOVER_BOUND} ms of the SIGKILL of ${dead}`);
  }
}

describe("failover by probing", () => {
  it("a SIGKILLed owner's actor, then a SIGKILLed leader's, answer from the journal long before memberTtl", async () => {
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("fo"), { shards: SHARDS, args: SLOW_TTL });
    cleanups.push(() => c.close());
    for (const id of ["f1", "f2", "f3", "f4"]) c.start(id);
    const [first] = await c.waitStable();
    const client = new ShoalClient(c.nc, c.name);

    // An owner that is not the leader.
    const a = await accountOn(client, (n) => n !== first!.leader);
    const t0 = Date.now();
    await c.nodes.get(a.owner)!.kill();
    const r = await answerAfterCrash(client, a.id, a.owner, t0);
    expect(r.balance).toBe(7);
    console.log(`[failover] owner ${a.owner} SIGKILLed: answered by ${r.node} after ${r.ms} ms`);
    // Declared gone by the probes, not by a TTL: the leader said so.
    expect(c.events.some((e) => e.type === "member.left" && e.member === a.owner)).toBe(true);

    // The leader, owning the account: a follower takes the lease over early, then re-plans.
    const [now] = await c.waitStable();
    const b = await accountOn(client, (n) => n === now!.leader);
    const t1 = Date.now();
    await c.nodes.get(b.owner)!.kill();
    const r2 = await answerAfterCrash(client, b.id, b.owner, t1);
    expect(r2.balance).toBe(7);
    console.log(`[failover] leader ${b.owner} SIGKILLed: answered by ${r2.node} after ${r2.ms} ms`);
    const [after] = await c.waitStable();
    expect(after!.leader).not.toBe(b.owner);
    expect(after!.epoch!).toBeGreaterThan(now!.epoch!);
  }, 90_000);

  it("a paused owner, declared gone while its own lease still holds, answers nothing stale when it wakes", async () => {
    // The kit's server drops a client that misses 3 one-second pings; the 20 s TTL keeps the
    // paused node's own lease valid throughout, so only the reconnect can tell it to stop.
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("fz"), { shards: SHARDS, args: SLOW_TTL });
    cleanups.push(() => c.close());
    for (const id of ["z1", "z2", "z3"]) c.start(id);
    const [first] = await c.waitStable();
    const client = new ShoalClient(c.nc, c.name);
    const a = await accountOn(client, (n) => n !== first!.leader);
    const zombie = c.nodes.get(a.owner)!;
    zombie.child.kill("SIGSTOP");
    cleanups.push(async () => zombie.child.kill("SIGCONT"));
    await waitFor(() => c.events.some((e) => e.type === "member.left" && e.member === a.owner), {
      timeout: 15_000,
      message: `${a.owner} (paused) was never declared gone`,
    });
    // The new owner applies a deposit the paused node never saw.
    let after: Balance | undefined;
    await waitFor(
      async () => {
        after = await client.ask<Balance>("account", a.id, { deposit: { amount: 5, txn: `t2-${a.id}` } }, { timeout: 1000 }).catch(() => undefined);
        return after !== undefined;
      },
      { timeout: 15_000, message: "the account never answered on another node" },
    );
    expect(after).toMatchObject({ balance: 12 });
    zombie.child.kill("SIGCONT");
    // Ask the woken node itself, on its own subject, until it has re-joined: never the old balance.
    const direct = nodeAskSubject(c.name, a.owner);
    const body = new TextEncoder().encode(JSON.stringify({ type: "account", id: a.id, msg: { balance: {} }, timeoutMs: 1000 }));
    const seen: string[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 6000) {
      const r = await c.nc.request(direct, body, { timeout: 2000 }).then(
        (m) => JSON.parse(m.string()) as { ok: boolean; reply?: Balance; error?: { code: string } },
        () => undefined, // no responders while it reconnects, or a timeout
      );
      if (r === undefined) continue;
      seen.push(r.ok ? `balance ${r.reply!.balance} from ${r.reply!.node}` : r.error!.code);
      if (r.ok) expect(r.reply!.balance, `the woken ${a.owner} answered: ${seen.join("; ")}`).toBe(12);
    }
    console.log(`[failover] paused ${a.owner} woke; what its subject answered: ${[...new Set(seen)].join("; ")}`);
    expect(seen.some((s) => s.startsWith("balance 12"))).toBe(true);
  }, 60_000);

  it("killing one of three NATS servers declares no member gone", async () => {
    const nats = await startNatsCluster(3);
    cleanups.push(() => nats.stop());
    // memberTtl 20 s: no record can age out during the test, so any departure is the probes'.
    // Probing every 5 ms (not 250) lands probes inside the nodes' reconnect windows (measured
    // 0-40 ms), which is what the confirmation must ride out.
    const args = ["--replicas", "3", ...SLOW_TTL, "--probe-interval", "5"];
    const c = await TestCluster.create(nats.urls.join(","), uniqueCluster("fons"), { shards: SHARDS, args });
    cleanups.push(() => c.close());
    const ids = ["s1", "s2", "s3", "s4"];
    for (const id of ids) c.start(id);
    await c.waitStable(ids, 60_000);

    // Kill the server most nodes are connected to: their reconnect windows are what the probes
    // must not mistake for crashes.
    const load = await Promise.all(nats.servers.map(async (_, i) => (await connectionsOn(nats, i)).length));
    const victim = load.indexOf(Math.max(...load));
    const onVictim = await connectionsOn(nats, victim);
    const survivor = nats.servers.find((s) => s !== nats.servers[victim])!;
    const watcher = await connect({ servers: survivor.url });
    cleanups.push(() => watcher.close());
    const gaps = watchAbsences(watcher, c.name, ids);
    cleanups.push(async () => gaps.stop());

    await nats.servers[victim]!.kill();
    const t0 = Date.now();
    // Every node is connected again (to a surviving server), and the cluster settles on all four.
    await waitFor(async () => (await Promise.all(ids.map((id) => serverOf(nats, `shoal-node-${id}`, victim).catch(() => -1)))).every((s) => s >= 0), {
      timeout: 30_000,
      interval: 100,
      message: "nodes did not reconnect to a surviving server",
    });
    await c.waitStable(ids, 60_000);
    await waitFor(async () => gaps.rounds() >= 20, { timeout: 10_000, interval: 50, message: "the absence watcher stalled" });
    gaps.stop();
    await waitFor(() => gaps.pending() === 0, { timeout: 5000, interval: 50, message: "probes never settled" });
    console.log(
      `[failover] killed ${nats.servers[victim]!.name} (nodes on it: ${onVictim.join(", ")}); longest no-responders gap per node (ms): ${JSON.stringify(gaps.longest())}, probes ${JSON.stringify(gaps.counts())}; settled after ${Date.now() - t0} ms`,
    );
    expect(onVictim.length).toBeGreaterThan(0);
    expect(c.events.filter((e) => e.type === "member.left")).toEqual([]);
    // A departure while no node leads is announced by nobody: the nodes' own logs tell.
    const declared = ids.filter((id) => /declared a member gone|declared gone; rejoining/.test(c.nodes.get(id)!.logs));
    expect(declared).toEqual([]);
  }, 150_000);
});

interface Connz {
  connections?: Array<{ name?: string }>;
}

async function connz(url: string | undefined): Promise<Connz> {
  const res = await fetch(`${url}/connz`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as Connz;
}

/** Index of the server that holds the named client connection (rejects while it holds none). */
async function serverOf(nats: RunningCluster, name: string, dead = -1): Promise<number> {
  for (const [i, s] of nats.servers.entries()) {
    if (i === dead) continue;
    const c = await connz(s.monitorUrl).catch(() => ({}) as Connz);
    if (c.connections?.some((x) => x.name === name)) return i;
  }
  throw new Error(`${name} is connected nowhere`);
}

async function connectionsOn(nats: RunningCluster, i: number): Promise<string[]> {
  const c = await connz(nats.servers[i]!.monitorUrl);
  return (c.connections ?? []).map((x) => x.name ?? "").filter((n) => n.startsWith("shoal-node-"));
}

/**
 * Probes every node's status subject every 10 ms from a surviving server, as the failure
 * detector does, without waiting for earlier probes (one that is lost in the kill would
 * otherwise blind the watcher for its whole timeout), and finds per node the longest run of
 * "no responders" answers in the order the probes were sent: the window the detector's
 * `probeConfirm` must outlast.
 */
function watchAbsences(nc: NatsConnection, cluster: string, ids: string[]) {
  const results = new Map<string, Array<{ at: number; r: string }>>(ids.map((id) => [id, []]));
  let n = 0;
  let pending = 0;
  const timer = setInterval(() => {
    n++;
    for (const id of ids) {
      const at = Date.now();
      pending++;
      void probeStatus(nc, cluster, id, 1000).then((r) => {
        pending--;
        results.get(id)!.push({ at, r });
      });
    }
  }, 10);
  const longest = (id: string): number => {
    let best = 0;
    let from: number | undefined;
    for (const { at, r } of results.get(id)!.sort((a, b) => a.at - b.at)) {
      if (r !== "absent") from = undefined;
      else {
        from ??= at;
        best = Math.max(best, at - from + 10);
      }
    }
    return best;
  };
  const count = (r: string) => Object.fromEntries(ids.map((id) => [id, results.get(id)!.filter((x) => x.r === r).length]));
  return {
    rounds: () => n,
    /** Probes still waiting for their answer (or timeout). */
    pending: () => pending,
    longest: () => Object.fromEntries(ids.map((id) => [id, longest(id)])),
    /** Probes answered "no responders", and probes that timed out, per node. */
    counts: () => ({ absent: count("absent"), unknown: count("unknown") }),
    stop: () => clearInterval(timer),
  };
}
