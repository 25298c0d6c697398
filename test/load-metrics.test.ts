import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { loadGauges } from "../cluster/load-metrics.js";
import type { ClusterLoadSummary } from "../cluster/load-service.js";
import type { ShoalNode } from "../cluster/node.js";

describe("load gauges", () => {
  it("show the node's own load, and on the leader only the current top shards and actors (stale series cleared)", async () => {
    let summary: ClusterLoadSummary | undefined = {
      nodes: [],
      shards: [{ shard: 7, node: "n2", turnsPerSec: 1200.5, mailbox: 3, actors: 1, stateBytes: 10, hot: true }],
      actors: [{ type: "account", id: 'hot "one"\n', shard: 7, node: "n2", turnsPerSec: 1200, hot: true }],
      actorThreshold: 100,
      shardThreshold: 1000,
    };
    const node = {
      loads: {
        nodeLoad: () => ({ node: "n1", turnsPerSec: 42.5, mailbox: 0, actors: 3, stateBytes: 999, shards: 2, age: 10 }),
        summary: () => summary,
      },
    } as unknown as ShoalNode;
    const registry = new Registry();
    loadGauges(registry, () => node);
    const first = await registry.metrics();
    expect(first).toContain("shoal_turns_per_second 42.5");
    expect(first).toContain("shoal_state_bytes 999");
    expect(first).toContain('shoal_hot_shard_turns_per_second{shard="7",owner="n2"} 1200.5');
    // An id is data: escaped, never breaking the exposition format.
    expect(first).toContain('shoal_hot_actor_turns_per_second{type="account",id="hot \\"one\\"\\n",shard="7",owner="n2"} 1200');
    summary = { ...summary, shards: [{ shard: 9, node: "n1", turnsPerSec: 5, mailbox: 0, actors: 1, stateBytes: 0, hot: false }], actors: [] };
    const second = await registry.metrics();
    expect(second).toContain('shoal_hot_shard_turns_per_second{shard="9",owner="n1"} 5');
    expect(second).not.toContain('shard="7"');
    summary = undefined; // stepped down
    const third = await registry.metrics();
    expect(third).not.toMatch(/shoal_hot_(shard|actor)_turns_per_second\{/);
  });
});
