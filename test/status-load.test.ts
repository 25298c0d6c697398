import { describe, expect, it } from "vitest";
import { emptyStatus } from "./support/cluster-status.js";
import { formatStatus } from "../bin/commands/status.js";
import { formatLoad } from "../bin/commands/status-load.js";
import { formatEvent } from "../bin/commands/watch.js";
import type { ClusterStatus } from "../cluster/cluster-status.js";
import type { ClusterLoadSummary } from "../cluster/load-service.js";

const load: ClusterLoadSummary = {
  nodes: [
    { node: "n1", turnsPerSec: 12.34, mailbox: 0, actors: 3, stateBytes: 800, shards: 2, age: 100 },
    { node: "n2", turnsPerSec: 1500.4, mailbox: 7, actors: 1, stateBytes: 3 * 1024 * 1024, shards: 1, age: 200 },
  ],
  shards: [
    { shard: 17, node: "n2", turnsPerSec: 1500.4, mailbox: 7, actors: 1, stateBytes: 3 * 1024 * 1024, hot: true },
    { shard: 2, node: "n1", turnsPerSec: 12.34, mailbox: 0, actors: 3, stateBytes: 800, hot: false },
  ],
  actors: [{ type: "account", id: "hot one", shard: 17, node: "n2", turnsPerSec: 1500.4, hot: true }],
  actorThreshold: 100,
  shardThreshold: 1000,
};

describe("load in shoal status", () => {
  it("shows per node, the busiest shards and the hottest actors, HOT when over their threshold", () => {
    const text = formatLoad(load).join("\n");
    expect(text).toMatch(/LOAD\s+TURNS\/S\s+MAILBOX\s+ACTORS\s+STATE\s+SHARDS\nn1\s+12\.3\s+0\s+3\s+800 B\s+2\nn2\s+1500\s+7\s+1\s+3\.0 MB\s+1\n/);
    expect(text).toMatch(/BUSIEST SHARD \(hot ≥ 1000\/s\)\s+NODE\s+TURNS\/S.*\n17\s+n2\s+1500\s+7\s+1\s+3\.0 MB\s+HOT\n2\s+n1\s+12\.3\s+0\s+3\s+800 B\n/);
    expect(text).toMatch(/HOTTEST ACTOR \(hot ≥ 100\/s\)\s+SHARD\s+NODE\s+TURNS\/S\naccount "hot one"\s+17\s+n2\s+1500\s+HOT$/);
  });

  it("says nothing without the leader's load, and says so when no report came yet", () => {
    expect(formatLoad(null)).toEqual([]);
    expect(formatLoad(undefined)).toEqual([]);
    expect(formatLoad({ ...load, nodes: [], shards: [], actors: [] }).join("\n")).toContain("(no load reports yet)");
  });

  it("is part of the status table", () => {
    const status: ClusterStatus = emptyStatus({ load });
    expect(formatStatus(status)).toContain('account "hot one"');
  });

  it("a hot event reads as one line in shoal watch", () => {
    const line = formatEvent({
      type: "hot",
      actors: [{ type: "account", id: "a.1", shard: 3, node: "n2", turnsPerSec: 512.4 }],
      shards: [{ shard: 3, node: "n2", turnsPerSec: 1200, mailbox: 0, actors: 1, stateBytes: 0 }],
      more: 2,
      actorThreshold: 100,
      shardThreshold: 1000,
      cluster: "c",
      node: "n1",
      at: 0,
    });
    expect(line).toMatch(/n1\s+hot: account "a\.1" 512\/s on n2, shard 3 1200\/s on n2 and 2 more$/);
  });

  it("projection events and load maps read as lines too (a projection event printed undefined)", () => {
    const at = { cluster: "c", node: "n1", at: 0 };
    expect(formatEvent({ type: "projection", phase: "stopped", projection: "balances", build: 2, partition: 1, error: "boom", ...at })).toMatch(
      /n1\s+projection balances b2 partition 1 stopped: boom$/,
    );
    expect(formatEvent({ type: "map.published", version: 7, epoch: 1, moves: 4, sample: [], reason: "load", ...at })).toMatch(
      /map v7 published for load: 4 shards to move$/,
    );
  });
});
