/**
 * Load you can see (issue 17 item 4), on real `shoal node --http` processes and a real
 * nats-server: one actor driven hard shows up as hot on the leader — in its `/status`, its
 * `/metrics`, `shoal status` (text and --json) — and the leader publishes one `hot` event for it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ClusterStatus } from "../cluster/cluster-status.js";
import type { ClusterEvent } from "../cluster/events.js";
import type { NodeStatus } from "../cluster/status.js";
import { ShoalClient } from "../src/client.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { freePorts, waitFor } from "./kit/index.js";

const SHARDS = 16;
const HOT = "hot-1";
const NODE_ARGS = [
  "--member-ttl",
  "3000",
  "--heartbeat",
  "1000",
  "--leader-ttl",
  "3000",
  "--load-report",
  "250",
  "--hot-actor",
  "50",
  "--hot-shard",
  "50",
  "--hot-top",
  "5",
];
const bin = fileURLToPath(new URL("../bin/shoal.js", import.meta.url));

let c: TestCluster;
const ports = new Map<string, number>();
const get = (id: string, path: string) => fetch(`http://127.0.0.1:${ports.get(id)}${path}`);
const status = async (id: string) => (await (await get(id, "/status")).json()) as NodeStatus;

/** Runs `shoal status` against the cluster; resolves with its output once it exits 0. */
async function shoalStatus(...args: string[]): Promise<string> {
  const child = spawn(process.execPath, [bin, "status", "--nats", c.url, "--cluster", c.name, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`shoal status exited ${code}: ${err}`);
  return out;
}

beforeAll(async () => {
  const free = await freePorts(2);
  for (const [i, id] of ["l1", "l2"].entries()) ports.set(id, free[i]!);
  c = await TestCluster.create(inject("natsUrl"), uniqueCluster("load"), { shards: SHARDS, args: NODE_ARGS });
  for (const id of ["l1", "l2"]) c.start(id, ["--http", String(ports.get(id))]);
  await c.waitStable(["l1", "l2"], 30_000);
});

afterAll(async () => {
  await c?.close();
});

describe("load reports on real nodes", () => {
  it("shows one actor driven hard as hot on the leader, in status, metrics and shoal status, with one hot event", async () => {
    const client = new ShoalClient(c.nc, c.name);
    const leader = (await c.statuses()).find((s) => s.isLeader)!.node;
    const follower = leader === "l1" ? "l2" : "l1";
    for (let i = 0; i < 5; i++) await client.ask("account", HOT, { deposit: { amount: 1, txn: `t${i}` } });
    const aboutHot = (e: ClusterEvent) => e.type === "hot" && e.actors.some((a) => a.id === HOT);
    const firstHot = c.nextEvent(aboutHot, 30_000);
    // Drive it: windows of 64 reads of the hot account, a trickle to 20 cold ones, until told to stop.
    let driving = true;
    let rounds = 0;
    const drive = (async () => {
      while (driving) {
        const cold = client.ask("account", `cold-${rounds++ % 20}`, { balance: {} });
        await Promise.all([cold, ...Array.from({ length: 64 }, () => client.ask("account", HOT, { balance: {} }))]);
      }
    })();
    try {
      const event = await firstHot;
      expect(event).toMatchObject({ type: "hot", node: leader, actorThreshold: 50, shardThreshold: 50 });
      if (event.type !== "hot") throw new Error("not a hot event");
      const shard = shardOf("account", HOT, SHARDS);
      expect(event.actors[0]).toMatchObject({ type: "account", id: HOT, shard });
      expect(event.actors[0]!.turnsPerSec).toBeGreaterThanOrEqual(50);

      // The leader's /status: the node's own load and the cluster's, the hot actor first and HOT.
      let seen: NodeStatus | undefined;
      await waitFor(
        async () => {
          seen = await status(leader);
          const top = seen.clusterLoad?.actors[0];
          return top?.id === HOT && top.hot && seen.clusterLoad!.shards[0]?.shard === shard && seen.clusterLoad!.nodes.length === 2;
        },
        { timeout: 15_000, interval: 200, message: "the hot actor first in the leader's /status" },
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(seen?.clusterLoad)}`, { cause: err });
      });
      const load = seen!.clusterLoad!;
      expect(load.shards[0]).toMatchObject({ shard, hot: true, actors: expect.any(Number) });
      expect(load.shards[0]!.stateBytes).toBeGreaterThan(0); // its state was estimated
      expect(load.actors.length).toBeLessThanOrEqual(5); // --hot-top
      const total = load.nodes.reduce((n, x) => n + x.turnsPerSec, 0);
      expect(load.actors[0]!.turnsPerSec).toBeLessThanOrEqual(total);
      const follows = await status(follower);
      expect(follows.clusterLoad).toBeUndefined();
      expect(follows.load).toMatchObject({ node: follower });

      // The leader's /metrics has the hot series; the follower's has none.
      const metrics = await (await get(leader, "/metrics")).text();
      expect(metrics).toMatch(new RegExp(`shoal_hot_actor_turns_per_second\\{type="account",id="${HOT}",shard="${shard}",owner="l[12]"[^}]*\\} \\d`));
      expect(metrics).toMatch(new RegExp(`shoal_hot_shard_turns_per_second\\{shard="${shard}",owner="l[12]"[^}]*\\} \\d`));
      expect(metrics).toMatch(/^shoal_turns_per_second\{[^}]*\} \d/m);
      const other = await (await get(follower, "/metrics")).text();
      expect(other).not.toMatch(/shoal_hot_actor_turns_per_second\{/);

      // shoal status, both forms.
      const json = JSON.parse(await shoalStatus("--json")) as ClusterStatus;
      expect(json.load?.actors[0]).toMatchObject({ type: "account", id: HOT, hot: true });
      const text = await shoalStatus();
      expect(text).toMatch(new RegExp(`account "${HOT}"\\s+${shard}\\s+l[12]\\s+\\d+\\s+HOT`));

      // Still hot some 65,000 asks later: no second event for it (hysteresis, and one event per 10 s).
      const later = rounds;
      await waitFor(() => rounds >= later + 1000, { timeout: 60_000, interval: 100, message: "the driver made no progress" });
      expect((await status(leader)).clusterLoad?.actors[0]).toMatchObject({ id: HOT, hot: true });
      expect(c.events.filter(aboutHot)).toHaveLength(1);
    } finally {
      driving = false;
      await drive;
    }
  });
});
