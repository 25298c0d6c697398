import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeStatus } from "../cluster/node.js";
import { waitFor } from "../integration/kit/index.js";
import { encodeToken } from "../src/codec/token.js";

/** One node's status over NATS; undefined when it does not answer. */
export async function statusOf(nc: NatsConnection, cluster: string, id: string): Promise<NodeStatus | undefined> {
  try {
    const r = await nc.request(`shoal.${cluster}.node.${encodeToken(id)}.status`, new Uint8Array(0), { timeout: 1000 });
    return JSON.parse(new TextDecoder().decode(r.data)) as NodeStatus;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the nodes `ids` all answer, agree on one leader and one map version, see each
 * other and own every shard between them, each a fair share.
 */
export async function waitStable(nc: NatsConnection, cluster: string, ids: readonly string[], shards: number, timeout = 30_000): Promise<NodeStatus[]> {
  let last: NodeStatus[] = [];
  await waitFor(
    async () => {
      last = (await Promise.all(ids.map((id) => statusOf(nc, cluster, id)))).filter((s): s is NodeStatus => s !== undefined);
      if (last.length !== ids.length) return false;
      const fair = Math.floor(shards / ids.length);
      return (
        new Set(last.map((s) => s.leader)).size === 1 &&
        last[0]!.leader !== null &&
        last.filter((s) => s.isLeader).length === 1 &&
        new Set(last.map((s) => s.mapVersion)).size === 1 &&
        last.reduce((n, s) => n + s.shards, 0) === shards &&
        last.every((s) => s.shards >= fair && s.migrations === 0 && ids.every((id) => s.members.some((m) => m.id === id)))
      );
    },
    { timeout, interval: 50, message: `cluster ${cluster} did not settle on ${ids.join(",")}: ${JSON.stringify(last.map((s) => [s.node, s.leader, s.mapVersion, s.shards]))}` },
  );
  return last;
}
