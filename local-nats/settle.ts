/** Waiting for a cluster of node processes to settle after a start, a join or a drain. */
import type { NatsConnection } from "@nats-io/transport-node";
import { isSettled, type NodeStatus, requestStatus } from "../cluster/status.js";
import { waitFor } from "./wait.js";

/** Polls the nodes `ids` until the cluster is settled on them (see `isSettled`); returns their statuses. */
export async function waitSettled(nc: NatsConnection, cluster: string, ids: readonly string[], shards: number, timeout = 20_000): Promise<NodeStatus[]> {
  let last: NodeStatus[] = [];
  await waitFor(
    async () => {
      last = (await Promise.all(ids.map((id) => requestStatus(nc, cluster, id)))).filter((s): s is NodeStatus => s !== undefined);
      return isSettled(last, ids, shards);
    },
    {
      timeout,
      interval: 50,
      message: `cluster ${cluster} did not settle on ${ids.join(",")}: ${JSON.stringify(last.map((s) => ({ node: s.node, leader: s.leader, isLeader: s.isLeader, map: s.mapVersion, shards: s.shards, migrations: s.migrations })))}`,
    },
  );
  return last;
}
