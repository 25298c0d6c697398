import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ClusterEvent } from "../cluster/events.js";
import { ClusterEvents } from "../cluster/events.js";
import type { NodeStatus } from "../cluster/node.js";
import { requestStatus } from "../cluster/status.js";
import { NodeProcess, waitSettled } from "./kit/index.js";

let clusterSeq = 0;
/** A cluster name no other test (or run) uses. */
export const uniqueCluster = (prefix: string) => `${prefix}${process.pid}x${clusterSeq++}`;

/** Asks one node for its status over NATS; undefined when it does not answer. */
export const statusOf = (nc: NatsConnection, cluster: string, id: string) => requestStatus(nc, cluster, id);

/** N node processes of one cluster, an observer connection and the events it saw. */
export class TestCluster {
  readonly nodes = new Map<string, NodeProcess>();
  readonly events: ClusterEvent[] = [];

  private constructor(
    readonly url: string,
    readonly name: string,
    readonly nc: NatsConnection,
    readonly shards: number,
    private readonly args: string[],
  ) {}

  /** Nodes get `--shards shards` plus `args`. */
  static async create(url: string, name: string, opts: { shards?: number; args?: string[] } = {}): Promise<TestCluster> {
    const nc = await connect({ servers: url });
    const shards = opts.shards ?? 64;
    const c = new TestCluster(url, name, nc, shards, ["--shards", String(shards), ...(opts.args ?? [])]);
    ClusterEvents.subscribe(nc, name, (e) => c.events.push(e));
    return c;
  }

  start(id: string, extra: string[] = []): NodeProcess {
    const p = NodeProcess.start({ url: this.url, id, cluster: this.name, args: [...this.args, ...extra] });
    this.nodes.set(id, p);
    return p;
  }

  running(): NodeProcess[] {
    return [...this.nodes.values()].filter((n) => n.running);
  }

  async statuses(ids = this.running().map((n) => n.id)): Promise<NodeStatus[]> {
    const all = await Promise.all(ids.map((id) => statusOf(this.nc, this.name, id)));
    return all.filter((s): s is NodeStatus => s !== undefined);
  }

  /** Waits until the cluster is settled on the given nodes (see `isSettled` in cluster/status.ts). */
  waitStable(ids = this.running().map((n) => n.id), timeout = 20_000): Promise<NodeStatus[]> {
    return waitSettled(this.nc, this.name, ids, this.shards, timeout);
  }

  mapEvents(): Array<Extract<ClusterEvent, { type: "map.published" }>> {
    return this.events.filter((e): e is Extract<ClusterEvent, { type: "map.published" }> => e.type === "map.published");
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill()));
    // SHOAL_TEST_LOG_DIR=/some/dir keeps every node's log for a post-mortem.
    const dir = process.env.SHOAL_TEST_LOG_DIR;
    if (dir) {
      const { mkdirSync, writeFileSync } = await import("node:fs");
      mkdirSync(dir, { recursive: true });
      for (const n of this.nodes.values()) writeFileSync(`${dir}/${this.name}-${n.id}.log`, n.logs);
    }
    await this.nc.close();
  }
}

export const brief = (s: NodeStatus) => ({ node: s.node, leader: s.leader, epoch: s.epoch, isLeader: s.isLeader, map: s.mapVersion, shards: s.shards });
