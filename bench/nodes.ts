import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeStatus } from "../cluster/node.js";
import { waitSettled } from "../local-nats/index.js";

export { requestStatus as statusOf } from "../cluster/status.js";

/** Waits until the cluster is settled on `ids` (one leader, one map, fair shares, no migration). */
export function waitStable(nc: NatsConnection, cluster: string, ids: readonly string[], shards: number, timeout = 30_000): Promise<NodeStatus[]> {
  return waitSettled(nc, cluster, ids, shards, timeout);
}

/** Fast failure detection, as the fault figures (SIGKILL, silent link) run their nodes. */
export const FAST_TIMING = { memberTtl: 3000, heartbeat: 1000, leaderTtl: 3000 } as const;

/** `shoal node` flags for {@link FAST_TIMING} and `shards` shards. */
export function fastNodeArgs(shards: number): string[] {
  const t = FAST_TIMING;
  return ["--member-ttl", String(t.memberTtl), "--heartbeat", String(t.heartbeat), "--leader-ttl", String(t.leaderTtl), "--shards", String(shards)];
}
