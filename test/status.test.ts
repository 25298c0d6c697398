import { describe, expect, it } from "vitest";
import { isSettled, type NodeStatus } from "../cluster/status.js";

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
