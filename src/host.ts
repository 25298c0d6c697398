import type { NatsConnection } from "@nats-io/transport-node";
import type { ActorDefinition } from "./actor/spec.js";
import { checkClusterName } from "./actor/names.js";
import { encodeToken } from "./codec/token.js";
import { Ingress, type IngressOptions } from "./ingress/ingress.js";
import { type Logger, silentLogger } from "./log.js";
import type { Caller } from "./ref.js";
import { Runtime, type RuntimeOptions } from "./runtime/runtime.js";
import { JetStreamEventStore } from "./store/jetstream.js";
import { msgpack } from "./codec/msgpack.js";
import { clusterBuckets } from "./nats-names.js";
import { KvReminderStorage } from "./reminders/kv-storage.js";
import type { EventStore } from "./store/types.js";

/** Who a node is and what it hosts: what both a host and a cluster node are made from. */
export interface NodeIdentity {
  /** An open NATS connection. The node does not close it. */
  nc: NatsConnection;
  /** The cluster's name, `[A-Za-z0-9][A-Za-z0-9_-]{0,63}`; every subject, bucket and stream of the cluster carries it. */
  cluster: string;
  /** This node's id, unique in the cluster (any string: it is encoded wherever it becomes a subject token or key). */
  nodeId: string;
  /** The actor types this node hosts. Every node of a cluster must host the same ones. */
  actors: readonly ActorDefinition[];
  /**
   * Replicas of the event stream, the snapshot bucket and the cluster's KV buckets when this
   * node creates them (default 1; 3 on a 3-server NATS cluster). Left out, an existing stream's
   * count is used.
   */
  replicas?: number;
  /** pino logger (default: silent). */
  logger?: Logger;
}

/** Options of an {@link ActorHost}. */
export interface HostOptions extends NodeIdentity {
  /**
   * Create the event stream and snapshot bucket when missing (default true). The cluster layer
   * passes false once the cluster's journal is known to exist: a stream that has gone missing
   * then is an error to report, never an empty stream to start again from.
   */
  createStream?: boolean;
  /** Runtime tuning (mailbox size, timeouts, passivation). */
  runtime?: Partial<Omit<RuntimeOptions, "nodeId" | "store" | "actors" | "logger">>;
  /** Wraps the event store before anything uses it (e.g. a decorator counting appends). */
  wrapStore?: (store: EventStore) => EventStore;
  /** Passed to the ingress: called once per request answered. */
  onAnswered?: IngressOptions["onAnswered"];
}

/**
 * The actors of one node on NATS: the JetStream event store, the runtime, and (once
 * {@link serve} is called) the ingress. The cluster layer adds membership, placement and
 * routing around it, and starts the ingress last, once its router has a map to route by.
 */
export class ActorHost {
  private served: Ingress | undefined;
  private stopped = false;

  private constructor(
    readonly runtime: Runtime,
    readonly store: EventStore,
    /** Replicas of the event stream (what the cluster's other buckets are made with). */
    readonly replicas: number,
    private readonly opts: HostOptions,
    private readonly log: Logger,
  ) {}

  static async start(opts: HostOptions): Promise<ActorHost> {
    checkClusterName(opts.cluster);
    const log = opts.logger ?? silentLogger;
    // The writer token of every append names this node (encoded: ids are data), so a journal
    // shows which node wrote each batch.
    const writerId = encodeToken(opts.nodeId).slice(0, 100);
    const opened = await JetStreamEventStore.open({ nc: opts.nc, cluster: opts.cluster, replicas: opts.replicas, writerId, create: opts.createStream ?? true });
    const store = opts.wrapStore?.(opened) ?? opened;
    const bucket = clusterBuckets(opts.cluster).reminders;
    const reminderStorage = await KvReminderStorage.open({ nc: opts.nc, bucket, replicas: opened.replicas, codec: msgpack, log });
    const runtime = new Runtime({ ...opts.runtime, nodeId: opts.nodeId, store, actors: opts.actors, logger: log, reminderStorage });
    log.info({ types: runtime.types }, "host started");
    return new ActorHost(runtime, store, opened.replicas, opts, log);
  }

  /**
   * Starts serving the ingress (`shoal.<cluster>.ask`, and the node's own `shoal.<cluster>.node.<token>.ask`) through `caller` (default: this host's
   * runtime; a cluster node passes its router). Once; not after {@link stop}.
   */
  serve(caller: Caller = this.runtime): Ingress {
    if (this.stopped) throw new TypeError("the host is stopped");
    if (this.served !== undefined) throw new TypeError("the ingress is already served");
    const { nc, cluster, nodeId, onAnswered } = this.opts;
    this.served = new Ingress({ nc, cluster, nodeId, caller, logger: this.log, clock: this.opts.runtime?.clock, onAnswered });
    return this.served;
  }

  /** The ingress, once {@link serve} has started it. */
  get ingress(): Ingress | undefined {
    return this.served;
  }

  /** Stops taking requests (waiting for the replies owed), finishes in-flight turns, closes the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.served?.stop();
    await this.runtime.stop();
    await this.store.close();
    this.log.info("host stopped");
  }
}
