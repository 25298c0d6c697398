import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ClusterEvent } from "../cluster/events.js";
import { ClusterEvents } from "../cluster/events.js";
import type { NodeStatus } from "../cluster/node.js";
import { encodeToken } from "../src/codec/token.js";
import { NodeProcess, waitFor } from "./kit/index.js";

let clusterSeq = 0;
/** A cluster name no other test (or run) uses. */
export const uniqueCluster = (prefix: string) => `${prefix}${process.pid}x${clusterSeq++}`;

/** Asks one node for its status over NATS; undefined when it does not answer. */
export async function statusOf(nc: NatsConnection, cluster: string, id: string): Promise<NodeStatus | undefined> {
  try {
    const r = await nc.request(`shoal.${cluster}.node.${encodeToken(id)}.status`, new Uint8Array(0), { timeout: 1000 });
    return JSON.parse(new TextDecoder().decode(r.data)) as NodeStatus;
  } catch {
    return undefined;
  }
}

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

  /**
 * Waits until the given nodes all answer, agree on one leader and one map version, see each other,
 * and the map gives each of them a fair share of the shards.
 */
  async waitStable(ids = this.running().map((n) => n.id), timeout = 20_000): Promise<NodeStatus[]> {
    let last: NodeStatus[] = [];
    await waitFor(
      async () => {
        last = await this.statuses(ids);
        if (last.length !== ids.length) return false;
        const leaders = new Set(last.map((s) => s.leader));
        const versions = new Set(last.map((s) => s.mapVersion));
        const leaderCount = last.filter((s) => s.isLeader).length;
        const owners = last.reduce((n, s) => n + s.shards, 0);
        // Settled means the map is about exactly these nodes: each sees all of them and owns a fair share.
        const fair = Math.floor(this.shards / ids.length);
        const complete = last.every((s) => s.shards >= fair && ids.every((id) => s.members.some((m) => m.id === id)));
        return leaders.size === 1 && !leaders.has(null) && versions.size === 1 && leaderCount === 1 && owners === this.shards && complete;
      },
      { timeout, interval: 50, message: `cluster ${this.name} did not settle: ${JSON.stringify(last.map(brief))}` },
    );
    return last;
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
