/**
 * Keep-alive actors on real `shoal node` processes (issue 15, part 5b): activated once by a
 * message, each `pulse` (integration/fixtures/beacons.ts) ticks on, journaling which activation
 * and node ran each tick. After a drain (live handoffs) and after a SIGKILL (no handoff), every
 * pulse ticks again on its shard's new owner, and nothing sends it a message: the test reads
 * the journals straight from the stream. One pulse stops itself first and is not started again.
 */
import { Kvm } from "@nats-io/kv";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ShoalClient } from "../src/client.js";
import { encodeToken } from "../src/codec/token.js";
import { clusterBuckets } from "../src/nats-names.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { waitFor } from "./kit/index.js";
import type { LifeEvent } from "./fixtures/beacons.js";
import { activations, Journals, LIFE_ACTORS, overlaps } from "./life.js";

const SLOW_TTL = ["--member-ttl", "20000", "--heartbeat", "1000", "--leader-ttl", "20000"];
/** A crashed owner's keep-alive actors run again within this (the TTL path could not before 20 s). */
const FAILOVER_BOUND = 8000;
const SHARDS = 64;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe("keep-alive actors on node processes", () => {
  it("run again on the new owner after a drain and after a SIGKILL, without a message; one that stopped itself does not", async () => {
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("ka"), { shards: SHARDS, args: [...SLOW_TTL, "--actors", LIFE_ACTORS] });
    cleanups.push(() => c.close());
    for (const id of ["k1", "k2", "k3"]) c.start(id);
    await c.waitStable();
    const client = new ShoalClient(c.nc, c.name);
    cleanups.push(() => client.close());
    const journals = await Journals.open(c.nc, c.name);
    cleanups.push(() => journals.close());

    // Twelve pulses, each activated and armed by one message: the last messages they get.
    const ids = Array.from({ length: 12 }, (_, i) => `p.${i} *>`); // ids with subject characters: encoded in every key
    for (const id of ids) await client.ask("pulse", id, { arm: { every: 100 } });
    const lives = async () => new Map(await Promise.all(ids.map(async (id) => [id, await journals.of("pulse", id)] as const)));
    /** Where each pulse's latest tick ran. */
    const hosts = async () => new Map([...(await lives())].map(([id, ev]) => [id, lastTick(ev)?.node]));
    await waitFor(async () => [...(await lives()).values()].every((ev) => (activations(ev).at(-1)?.ticks ?? 0) >= 3), {
      timeout: 15_000,
      message: "the pulses do not tick",
    });

    // Each is recorded under its shard, its id encoded.
    const bucket = await new Kvm(c.nc).open(clusterBuckets(c.name).keepAlive);
    const keys = async () => {
      const out: string[] = [];
      for await (const k of await bucket.keys()) out.push(k);
      return out.sort();
    };
    expect(await keys()).toEqual(ids.map((id) => `${shardOf("pulse", id, SHARDS)}.pulse.${encodeToken(id)}`).sort());

    // One stops itself: its record goes and it ticks no more.
    const stopped = ids[0]!;
    await client.ask("pulse", stopped, { stop: {} });
    await waitFor(async () => (await keys()).length === ids.length - 1, { timeout: 10_000, message: "the stopped pulse's record stayed" });
    const stoppedTicks = activations(await journals.of("pulse", stopped)).reduce((n, a) => n + a.ticks, 0);
    const running = ids.slice(1);

    // Drain the node running most pulses: they move live, their timers with them.
    const before = await hosts();
    const drained = ["k1", "k2", "k3"].sort((a, b) => count(before, b, running) - count(before, a, running))[0]!;
    const moved = running.filter((id) => before.get(id) === drained);
    expect(moved.length).toBeGreaterThan(0);
    const actsBefore = new Map([...(await lives())].map(([id, ev]) => [id, activations(ev).length]));
    expect(await c.nodes.get(drained)!.stop()).toBe(0);
    const t1 = Date.now();
    await waitFor(async () => tickingSince(await lives(), running, t1), { timeout: 15_000, message: "a pulse stopped ticking after the drain" }).catch(
      async (err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify([...(await hosts())])}`);
      },
    );
    const afterDrain = await lives();
    for (const id of moved) expect(lastTick(afterDrain.get(id)!)!.node).not.toBe(drained);
    // Carried live: they tick on under the activation that ran on the drained node (no new hello).
    const carried = moved.filter((id) => activations(afterDrain.get(id)!).length === actsBefore.get(id));
    console.log(
      `[keep-alive] drained ${drained}: ${moved.length} pulses moved, ${carried.length} carried live, ${moved.length - carried.length} started from the journal`,
    );
    expect(carried.length).toBeGreaterThan(0);

    // SIGKILL the node now running most: no handoff, the new owners start them from the journal.
    const now = await hosts();
    const survivors = ["k1", "k2", "k3"].filter((id) => id !== drained);
    await c.waitStable(survivors, 30_000);
    const victim = survivors.sort((a, b) => count(now, b, running) - count(now, a, running))[0]!;
    const orphaned = running.filter((id) => now.get(id) === victim);
    expect(orphaned.length).toBeGreaterThan(0);
    const actsAtKill = new Map([...(await lives())].map(([id, ev]) => [id, activations(ev).length]));
    const t2 = Date.now();
    await c.nodes.get(victim)!.kill();
    await waitFor(
      async () => {
        const l = await lives();
        return orphaned.every((id) => {
          const fresh = activations(l.get(id)!).slice(actsAtKill.get(id)!);
          return fresh.some((a) => a.node !== victim && a.ticks >= 3);
        });
      },
      { timeout: FAILOVER_BOUND + 10_000, interval: 50, message: "a SIGKILLed node's pulse did not run again" },
    );
    const l = await lives();
    const restart = Math.max(
      ...orphaned.map(
        (id) =>
          activations(l.get(id)!)
            .slice(actsAtKill.get(id)!)
            .find((a) => a.node !== victim)!.at - t2,
      ),
    );
    console.log(`[keep-alive] SIGKILLed ${victim}: its ${orphaned.length} pulses all ran again within ${restart} ms`);
    expect(restart).toBeLessThanOrEqual(FAILOVER_BOUND);
    const t3 = Date.now();
    await waitFor(async () => tickingSince(await lives(), running, t3), { timeout: 10_000, message: "a pulse stopped ticking" });

    // Never two activations at once; the stopped one never ran again.
    for (const [id, ev] of await lives()) expect(overlaps(ev), id).toEqual([]);
    expect(activations(await journals.of("pulse", stopped)).reduce((n, a) => n + a.ticks, 0)).toBe(stoppedTicks);
  }, 120_000);
});

function count(hosts: Map<string, string | undefined>, node: string, ids: readonly string[]): number {
  return ids.filter((id) => hosts.get(id) === node).length;
}

function lastTick(events: readonly LifeEvent[]): Extract<LifeEvent, { k: "tick" }> | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.k === "tick") return e;
  }
  return undefined;
}

/** Whether every pulse of `ids` journaled a tick at or after `t` (ms). */
function tickingSince(lives: Map<string, readonly LifeEvent[]>, ids: readonly string[], t: number): boolean {
  return ids.every((id) => lives.get(id)!.some((e) => e.k === "tick" && e.at >= t));
}
