import type { ClusterStatus } from "../../cluster/cluster-status.js";

/** A cluster status with nothing in it (leader n1, map v3), for tests to fill in what they look at. */
export function emptyStatus(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    cluster: "c",
    leader: "n1",
    epoch: 1,
    mapVersion: 3,
    shardCount: 32,
    unowned: 0,
    migrations: 0,
    nodes: [],
    groups: [],
    pins: [],
    typeMismatches: [],
    singletons: [],
    projections: [],
    ...over,
  };
}
