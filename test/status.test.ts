import { describe, expect, it } from "vitest";
import { emptyStatus } from "./support/cluster-status.js";
import { formatStatus } from "../bin/commands/status.js";
import { type ClusterStatus, singletonSummaries } from "../cluster/cluster-status.js";
import { isSettled, type NodeStatus } from "../cluster/status.js";
import { shardOf } from "../src/routing/shard-hash.js";

const member = (id: string) => ({ id, weight: 1, state: "active" as const, startedAt: 0 });
const status = (node: string, over: Partial<NodeStatus> = {}): NodeStatus => ({
  node,
  cluster: "c",
  state: "active",
  leader: "a",
  epoch: 1,
  isLeader: node === "a",
  mapVersion: 3,
  mapEpoch: 1,
  shards: 32,
  actors: 0,
  migrations: 0,
  forwarded: 0,
  types: ["account"],
  members: [member("a"), member("b")],
  ...over,
});

describe("isSettled", () => {
  it("is true only for one leader, one map, full views, fair shares and no migration", () => {
    const ok = [status("a"), status("b")];
    expect(isSettled(ok, ["a", "b"], 64)).toBe(true);
    expect(isSettled([status("a")], ["a", "b"], 64)).toBe(false); // b did not answer
    expect(isSettled([status("a"), status("b", { mapVersion: 2 })], ["a", "b"], 64)).toBe(false);
    expect(isSettled([status("a"), status("b", { isLeader: true })], ["a", "b"], 64)).toBe(false);
    expect(isSettled([status("a"), status("b", { leader: "b" })], ["a", "b"], 64)).toBe(false);
    expect(isSettled([status("a", { shards: 64 }), status("b", { shards: 0 })], ["a", "b"], 64)).toBe(false);
    expect(isSettled([status("a"), status("b", { migrations: 1 })], ["a", "b"], 64)).toBe(false);
    expect(isSettled([status("a"), status("b", { members: [member("b")] })], ["a", "b"], 64)).toBe(false);
    expect(isSettled([], [], 64)).toBe(false);
  });
});

describe("singletons in status", () => {
  it("name, per singleton type, the nodes that run it and its shard's owner; the table shows them", () => {
    const map = { version: 3, epoch: 1, shardCount: 4, owners: ["a", "b", "a", "b"] };
    const owner = (type: string) => map.owners[shardOf(type, type, 4)]!;
    const statuses = [
      status("a", {
        singletons: [
          { type: "clock", running: owner("clock") === "a" },
          { type: "idle", running: false },
        ],
      }),
      status("b", {
        singletons: [
          { type: "clock", running: owner("clock") === "b" },
          { type: "idle", running: false },
        ],
      }),
      status("c", {}), // older than singletons: says nothing
    ];
    const summaries = singletonSummaries(statuses, map);
    expect(summaries).toEqual([
      { type: "clock", nodes: [owner("clock")], owner: owner("clock") },
      { type: "idle", nodes: [], owner: owner("idle") },
    ]);
    const cluster: ClusterStatus = emptyStatus({
      leader: "a",
      shardCount: 4,
      singletons: [...summaries, { type: "twice", nodes: ["a", "b"], owner: "a" }],
      projections: [
        {
          name: "balances",
          serving: 1,
          building: 2,
          deadLetters: 3,
          builds: [
            { build: 1, role: "serving", partitions: [part(0, "a", 5, null), part(1, "b", 7, "boom")] },
            { build: 2, role: "building", partitions: [part(0, null, 900, null)] },
          ],
        },
      ],
    });
    const text = formatStatus(cluster);
    expect(text).toMatch(new RegExp(`SINGLETON\\s+NODE\\nclock\\s+${owner("clock")}\\n`));
    expect(text).toMatch(new RegExp(`idle\\s+\\(not running; its shard's owner is ${owner("idle")}\\)`));
    expect(text).toMatch(/twice\s+a, b \(more than one!\)/);
    expect(text).toMatch(/balances b1\s+1\/2 \(1 stopped\)\s+7\s+2\.0\s+20\s+3\n/);
    expect(text).toMatch(/balances b2 \(building\)\s+0\/1\s+900\s+2\.0\s+10\s*$/m);
    expect(formatStatus({ ...cluster, singletons: [] })).not.toMatch(/SINGLETON/);
  });
});

function part(partition: number, owner: string | null, lag: number, stopped: string | null) {
  return { partition, owner, checkpoint: 100, lag, lagSeconds: 2, rate: 10, applied: 50, deadLettered: 0, skipped: 0, at: 0, stopped };
}
