import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeStatus } from "../cluster/node.js";
import { waitSettled } from "../local-nats/index.js";

export { requestStatus as statusOf } from "../cluster/status.js";

/** Waits until the cluster is settled on `ids` (one leader, one map, fair shares, no migration). */
export function waitStable(nc: NatsConnection, cluster: string, ids: readonly string[], shards: number, timeout = 30_000): Promise<NodeStatus[]> {
  return waitSettled(nc, cluster, ids, shards, timeout);
}
