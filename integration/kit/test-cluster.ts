import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { type ClusterEvent, ClusterEvents } from "../../cluster/events.js";
import { type NodeStatus, requestStatus } from "../../cluster/status.js";
import { NodeProcess, waitSettled } from "../../local-nats/index.js";

export interface TestClusterOptions {
  /** Shard count every node gets (`--shards`). Default 64. */
  shards?: number;
  /** More `shoal node` flags for every node. */
  args?: string[];
  /** How long `waitStable` waits by default (ms). Default 20 s. */
  settleTimeout?: number;
}

/**
 * N real `shoal node` processes of one cluster, an observer connection, and the cluster events
 * it saw. Used by the integration tests, the chaos scenarios and anything else that needs a
 * cluster of processes. SHOAL_TEST_LOG_DIR=/some/dir keeps every node's log on close.
 */
export class TestCluster {
  readonly nodes = new Map<string, NodeProcess>();
  readonly events: ClusterEvent[] = [];
  private readonly listeners = new Set<(e: ClusterEvent) => void>();
  private readonly sub: Subscription;

  private constructor(
    /** Default NATS URL(s) of the nodes, comma-separated. */
    readonly url: string,
    readonly name: string,
    readonly nc: NatsConnection,
    readonly shards: number,
    private readonly args: string[],
    private readonly settleTimeout: number,
  ) {
    this.sub = ClusterEvents.subscribe(nc, name, (e) => {
      this.events.push(e);
      for (const l of [...this.listeners]) l(e);
    });
  }

  /** `url`: one URL or a comma-separated list; the observer connects to all of them. */
  static async create(url: string, name: string, opts: TestClusterOptions = {}): Promise<TestCluster> {
    const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const shards = opts.shards ?? 64;
    return new TestCluster(url, name, nc, shards, ["--shards", String(shards), ...(opts.args ?? [])], opts.settleTimeout ?? 20_000);
  }

  /** Starts a node with the cluster's flags plus `extra`, connected to `url` (default: the cluster's). */
  start(id: string, extra: string[] = [], url = this.url): NodeProcess {
    const p = NodeProcess.start({ url, id, cluster: this.name, args: [...this.args, ...extra] });
    this.nodes.set(id, p);
    return p;
  }

  running(): NodeProcess[] {
    return [...this.nodes.values()].filter((n) => n.running);
  }

  async statuses(ids = this.running().map((n) => n.id)): Promise<NodeStatus[]> {
    const all = await Promise.all(ids.map((id) => requestStatus(this.nc, this.name, id)));
    return all.filter((s): s is NodeStatus => s !== undefined);
  }

  /** Waits until the cluster is settled on the given nodes (see `isSettled` in cluster/status.ts). */
  waitStable(ids = this.running().map((n) => n.id), timeout = this.settleTimeout): Promise<NodeStatus[]> {
    return waitSettled(this.nc, this.name, ids, this.shards, timeout);
  }

  mapEvents(): Array<Extract<ClusterEvent, { type: "map.published" }>> {
    return this.events.filter((e): e is Extract<ClusterEvent, { type: "map.published" }> => e.type === "map.published");
  }

  /** Events seen so far, counted by type. */
  countEvents(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.events) counts[e.type] = (counts[e.type] ?? 0) + 1;
    return counts;
  }

  /** Resolves with the first event from now on that matches. */
  nextEvent(match: (e: ClusterEvent) => boolean, timeout = this.settleTimeout): Promise<ClusterEvent> {
    return new Promise((resolve, reject) => {
      const l = (e: ClusterEvent): void => {
        if (!match(e)) return;
        this.listeners.delete(l);
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`no matching cluster event in ${timeout} ms`));
      }, timeout);
      this.listeners.add(l);
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill()));
    const dir = process.env.SHOAL_TEST_LOG_DIR;
    if (dir) {
      const { mkdirSync, writeFileSync } = await import("node:fs");
      mkdirSync(dir, { recursive: true });
      for (const n of this.nodes.values()) writeFileSync(`${dir}/${this.name}-${n.id}.log`, n.logs);
    }
    this.sub.unsubscribe();
    await this.nc.close().catch(() => undefined);
  }
}
