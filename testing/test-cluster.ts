import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ActorType } from "../src/actor/calls.js";
import type { ActorDefinition } from "../src/actor/spec.js";
import type { ProjectionDefinition } from "../src/projection/spec.js";
import { ShoalClient } from "../src/client.js";
import type { Logger } from "../src/log.js";
import type { ActorRef, RefFactory, RefId } from "../src/ref.js";
import type { ClusterTiming } from "../cluster/config.js";
import { ShoalNode } from "../cluster/node.js";
import { isSettled } from "../cluster/status.js";
import { type LocalNats, localNats } from "../local-nats/local.js";
import { waitFor } from "../local-nats/wait.js";

/** Options of {@link startTestCluster}. */
export interface TestClusterOptions {
  /** The actor types every node hosts. */
  actors: readonly ActorDefinition[];
  /** Projections every node runs its share of (default none). */
  projections?: readonly ProjectionDefinition[];
  /** How many nodes to start (default 2). More can join with {@link ShoalTestCluster.addNode}. */
  nodes?: number;
  /**
   * A NATS server to use (its URL). Default: env `NATS_URL`, else a nats-server started for
   * this cluster (found on PATH, in the cache, or downloaded; stopped with the cluster).
   */
  natsUrl?: string;
  /** The cluster's name. Default: unique per call, so clusters on one server never meet. */
  cluster?: string;
  /** Shard count (default 64: fewer shards settle faster). */
  shards?: number;
  /** Timing overrides; the defaults are short, for tests. */
  timing?: Partial<Omit<ClusterTiming, "shardCount">>;
  /** Logger for every node (default: silent). */
  logger?: Logger;
  /** Longest wait for the nodes to agree on a map, on start and in {@link ShoalTestCluster.settled} (ms, default 30 000). */
  settleTimeout?: number;
}

/** Short timings: failures are noticed in about a second, rebalances start at once. */
const TEST_TIMING: Omit<ClusterTiming, "shardCount" | "weight" | "probeInterval" | "probeConfirm"> = {
  heartbeatInterval: 250,
  memberTtl: 1500,
  leaderTtl: 1500,
  rebalanceDebounce: 50,
};

let clusters = 0;

/**
 * A real Shoal cluster for your tests, in this process: a nats-server (JetStream) and N
 * {@link ShoalNode}s hosting your actor types, each on its own connection, plus a
 * {@link ShoalClient} that calls them from outside as your application would.
 *
 * ```ts
 * import { startTestCluster } from "shoal/testing";
 *
 * test("a deposit is applied once", async () => {
 *   await using cluster = await startTestCluster({ actors: [account] });
 *   const alice = cluster.ref(account, "alice");
 *   await alice.ask({ deposit: { amount: 5, txn: "t-1" } });
 *   expect(await alice.ask({ deposit: { amount: 5, txn: "t-1" } })).toMatchObject({ balance: 5, applied: false });
 * });
 * ```
 */
export async function startTestCluster(opts: TestClusterOptions): Promise<ShoalTestCluster> {
  const nats: LocalNats | undefined = opts.natsUrl === undefined ? await localNats() : undefined;
  const url = opts.natsUrl ?? nats!.url;
  const cluster = opts.cluster ?? `test-${process.pid}-${++clusters}-${Date.now().toString(36)}`;
  const clientConnection = await connect({ servers: url, name: `shoal-test-client-${cluster}` });
  const tc = new ShoalTestCluster(url, cluster, opts, clientConnection, nats);
  try {
    for (let i = 1; i <= (opts.nodes ?? 2); i++) await tc.addNode(`node-${i}`, { settle: false });
    await tc.settled();
  } catch (err) {
    await tc.stop();
    throw err;
  }
  return tc;
}

/** A running test cluster; see {@link startTestCluster}. Stop it with `await using` or {@link stop}. */
export class ShoalTestCluster implements RefFactory, AsyncDisposable {
  /** The nodes running now, in the order they joined. */
  readonly nodes: ShoalNode[] = [];
  /** A client outside the cluster, over the ingress (what {@link ref} uses). */
  readonly client: ShoalClient;
  private readonly connections = new Map<ShoalNode, NatsConnection>();
  private stopped: Promise<void> | undefined;

  /** @internal */
  constructor(
    /** The NATS server's URL. */
    readonly url: string,
    /** The cluster's name. */
    readonly cluster: string,
    private readonly opts: TestClusterOptions,
    private readonly clientConnection: NatsConnection,
    private readonly nats: LocalNats | undefined,
  ) {
    this.client = new ShoalClient(clientConnection, cluster);
  }

  /** A typed reference through the cluster's client (the path an application outside the cluster takes); a singleton's definition needs no id. */
  ref<A extends ActorType>(type: A, ...id: RefId<A>): ActorRef<A> {
    return this.client.ref(type, ...id);
  }

  /** Starts one more node (id default `node-<n>`) and, unless told not to, waits until the cluster has settled with it. */
  async addNode(nodeId = `node-${this.nodes.length + 1}`, opts: { settle?: boolean } = {}): Promise<ShoalNode> {
    const nc = await connect({ servers: this.url, name: `shoal-test-${nodeId}` });
    try {
      const node = await ShoalNode.start({
        nc,
        cluster: this.cluster,
        nodeId,
        actors: this.opts.actors,
        projections: this.opts.projections,
        logger: this.opts.logger,
        shardCount: this.opts.shards ?? 64,
        ...TEST_TIMING,
        ...this.opts.timing,
      });
      this.nodes.push(node);
      this.connections.set(node, nc);
      if (opts.settle !== false) await this.settled();
      return node;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** Drains a node gracefully (its shards move live to the others) and waits until the rest have settled. */
  async drainNode(node: ShoalNode | string): Promise<void> {
    const n = this.find(node);
    await n.drain(this.opts.settleTimeout ?? 30_000);
    await this.forget(n);
    if (this.nodes.length > 0) await this.settled();
  }

  /**
   * Stops a node without a drain, as a crash looks to the others: its connection closes at once,
   * their probes find it gone within `probeInterval` + `probeConfirm`, and the leader re-plans.
   */
  async crashNode(node: ShoalNode | string): Promise<void> {
    const n = this.find(node);
    await this.connections.get(n)?.close();
    await n.stop().catch(() => undefined);
    await this.forget(n);
  }

  /** Resolves once every node agrees on one leader and one map that shares the shards fairly, with no migration in flight. */
  async settled(timeout = this.opts.settleTimeout ?? 30_000): Promise<void> {
    const shards = this.opts.shards ?? 64;
    const statuses = () => this.nodes.map((n) => n.status());
    await waitFor(
      () =>
        isSettled(
          statuses(),
          this.nodes.map((n) => n.nodeId),
          shards,
        ),
      { timeout, interval: 25, message: `cluster ${this.cluster} did not settle` },
    ).catch((err: Error) => {
      const seen = statuses().map(({ node, leader, mapVersion, shards: owned, migrations }) => ({ node, leader, mapVersion, shards: owned, migrations }));
      throw new Error(`${err.message}; nodes: ${JSON.stringify(seen)}`);
    });
    // Settled maps are not enough for a caller: each node must also be heard on the ingress, or
    // the first request could find no responder yet.
    await waitFor(() => this.nodes.every((n) => n.host.ingress !== undefined), {
      timeout,
      interval: 10,
      message: `cluster ${this.cluster}: a node never served the ingress`,
    });
    await Promise.all(this.nodes.map((n) => n.host.ingress?.ready));
  }

  /** Stops every node, the client and the nats-server started for this cluster. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.client.close();
      for (const n of [...this.nodes].reverse()) await n.stop().catch(() => undefined);
      await Promise.all([...this.connections.values()].map((nc) => nc.close().catch(() => undefined)));
      await this.clientConnection.close().catch(() => undefined);
      await this.nats?.stop();
    })();
    return this.stopped;
  }

  /** Stops like {@link stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private find(node: ShoalNode | string): ShoalNode {
    const n = typeof node === "string" ? this.nodes.find((x) => x.nodeId === node) : node;
    if (n === undefined || !this.nodes.includes(n)) throw new TypeError(`no running node ${typeof node === "string" ? node : node.nodeId} in this cluster`);
    return n;
  }

  private async forget(n: ShoalNode): Promise<void> {
    this.nodes.splice(this.nodes.indexOf(n), 1);
    await this.connections
      .get(n)
      ?.close()
      .catch(() => undefined);
    this.connections.delete(n);
  }
}
