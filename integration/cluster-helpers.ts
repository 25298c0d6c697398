import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeStatus } from "../cluster/node.js";
import { requestStatus } from "../cluster/status.js";

let clusterSeq = 0;
/** A cluster name no other test (or run) uses. */
export const uniqueCluster = (prefix: string) => `${prefix}${process.pid}x${clusterSeq++}`;

/** Asks one node for its status over NATS; undefined when it does not answer. */
export const statusOf = (nc: NatsConnection, cluster: string, id: string) => requestStatus(nc, cluster, id);

export { TestCluster } from "./kit/index.js";

export const brief = (s: NodeStatus) => ({ node: s.node, leader: s.leader, epoch: s.epoch, isLeader: s.isLeader, map: s.mapVersion, shards: s.shards });
