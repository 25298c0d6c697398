import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { CountingEventStore } from "./counting-store.js";
import { loadGauges } from "./load-metrics.js";
import type { NodeHooks, ShoalNode } from "./node.js";
import type { PartitionStatus } from "./projections/service.js";

export interface NodeMetricsOptions {
  cluster: string;
  /** This node's id (the `node` label of every metric). */
  node: string;
  /**
   * Actor types this node hosts. The `type` label takes only these (anything else, e.g. a
   * client's made-up type, counts as "other"), so clients cannot grow the label set.
   */
  types: readonly string[];
  /** Node.js process metrics (CPU, memory, event loop lag, GC) too. Default true. */
  processMetrics?: boolean;
}

/** Ask latency buckets, seconds: local asks take tens of microseconds, forwarded ones a few ms. */
const ASK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PAUSE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One node's Prometheus metrics, in a registry of its own (several nodes may share a process)
 * with default labels `{cluster, node}`. Counters are fed by {@link hooks} (pass them to
 * `ShoalNode.start`); gauges read the node when scraped, once {@link attach}ed.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  /** Hooks for `NodeOptions.hooks`. */
  readonly hooks: NodeHooks;
  private node: ShoalNode | undefined;
  private readonly types: ReadonlySet<string>;

  constructor(opts: NodeMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ cluster: opts.cluster, node: opts.node });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.types = new Set(opts.types);

    const requests = new Counter({
      name: "shoal_ingress_requests_total",
      help: "Ingress requests handled, by actor type, verb (ask, send, tell) and outcome (ok, accepted for a tell, or the error code).",
      labelNames: ["type", "verb", "outcome"],
      registers,
    });
    const requestSeconds = new Histogram({
      name: "shoal_ingress_duration_seconds",
      help: "Ingress asks and sends: time from receipt to reply.",
      labelNames: ["type", "verb"],
      buckets: ASK_BUCKETS,
      registers,
    });
    const migrations = new Counter({
      name: "shoal_migrations_total",
      help: "Shard moves ended on this node, by role and outcome.",
      labelNames: ["role", "outcome"],
      registers,
    });
    const pause = new Histogram({
      name: "shoal_migration_pause_seconds",
      help: "How long each shard this node handed off was paused (completed moves).",
      buckets: PAUSE_BUCKETS,
      registers,
    });
    const appends = new Counter({ name: "shoal_event_store_appends_total", help: "Event batches appended to the event store.", registers });
    const conflicts = new Counter({ name: "shoal_event_store_conflicts_total", help: "Appends refused on their expected version (CONFLICT).", registers });
    const replays = new Histogram({
      name: "shoal_activation_replay_events",
      help: "Events each activation's load replayed after its snapshot (long replays: snapshots lag; see snapshotPolicy).",
      buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 25000],
      registers,
    });
    const tellsFailed = new Counter({
      name: "shoal_tells_failed_total",
      help: "Tells sent from this node that failed, by error code (AT_PEER: the node it sent them to reported them failed).",
      labelNames: ["code"],
      registers,
    });
    const tellsHeld = new Counter({
      name: "shoal_tells_held_total",
      help: "Tells started on this node that found their lane at tellBound: waited for room, or refused (onFull: fail).",
      labelNames: ["outcome"],
      registers,
    });
    const mailboxFull = new Counter({
      name: "shoal_mailbox_full_total",
      help: "Messages that found their actor's mailbox full, by actor type and what its overflow policy did: rejected, dropped (the oldest queued one failed) or waited.",
      labelNames: ["type", "outcome"],
      registers,
    });
    this.gauge("shoal_mailbox_depth", "Messages queued in the mailboxes of this node's actors.", (n) => n.host.runtime.stats().mailboxDepth);
    this.gauge("shoal_active_actors", "Actors active on this node.", (n) => n.host.runtime.stats().activeActors);
    this.gauge("shoal_shards_owned", "Shards this node owns in its current map.", (n) => n.ownedShards().length);
    this.gauge("shoal_map_version", "Version of the shard map this node routes by (0 before the first).", (n) => n.map?.version ?? 0);
    const node = () => this.node;
    new Counter({
      name: "shoal_forwarded_total",
      help: "Messages this node sent on to the owner's node (a client routing by the shard map saves these hops).",
      registers,
      collect() {
        const n = node();
        if (n === undefined) return;
        this.reset();
        this.inc(n.status().forwarded);
      },
    });
    this.gauge("shoal_is_leader", "1 while this node is the leader.", (n) => (n.election.isLeader() ? 1 : 0));
    this.projectionGauges();
    loadGauges(this.registry, node);

    this.hooks = {
      onAnswered: (type, verb, outcome, seconds) => {
        const t = this.types.has(type) ? type : "other";
        requests.inc({ type: t, verb, outcome });
        if (verb !== "tell") requestSeconds.observe({ type: t, verb }, seconds);
      },
      onMigration: (role, outcome, ms) => {
        migrations.inc({ role, outcome });
        if (role === "source" && outcome === "completed") pause.observe(ms / 1000);
      },
      onTellsFailed: (code, n) => tellsFailed.inc({ code }, n),
      onTellHeld: (outcome) => tellsHeld.inc({ outcome }),
      onMailboxFull: (type, outcome) => mailboxFull.inc({ type: this.types.has(type) ? type : "other", outcome }),
      wrapStore: (store) =>
        new CountingEventStore(store, { appended: () => appends.inc(), conflicted: () => conflicts.inc(), loaded: (n) => replays.observe(n) }),
    };
  }

  /** Lets the gauges read `node` (they report 0 before). */
  attach(node: ShoalNode): void {
    this.node = node;
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The projection partitions this node runs, from their last commits (labels projection, build,
   * partition: a bounded set, from code), and the dead letters waiting per projection.
   */
  private projectionGauges(): void {
    const node = () => this.node;
    const perPartition = (name: string, help: string, read: (s: PartitionStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["projection", "build", "partition"],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of node()?.projections().partitions ?? [])
            this.set({ projection: s.projection, build: String(s.build), partition: String(s.partition) }, read(s));
        },
      });
    perPartition(
      "shoal_projection_lag_batches",
      "Journal batches of a projection's subjects after its partition's checkpoint, at its last commit.",
      (s) => s.checkpoint.pending,
    );
    perPartition(
      "shoal_projection_lag_seconds",
      "How far behind the journal the partition was at its last commit (age of the last batch read while more waited).",
      (s) => s.checkpoint.behindMs / 1000,
    );
    perPartition("shoal_projection_rate", "Events per second the partition applied over its last commits.", (s) => s.checkpoint.rate);
    perPartition(
      "shoal_projection_applied_events",
      "Events the partition of this build has applied since the build began (on whichever node).",
      (s) => s.checkpoint.applied,
    );
    perPartition("shoal_projection_running", "1 while the partition runs here, 0 when it stopped on a failing event or lost its claim.", (s) =>
      s.state === "running" ? 1 : 0,
    );
    new Gauge({
      name: "shoal_projection_dead_letters",
      help: "Dead letters waiting in the cluster's bucket, per projection.",
      labelNames: ["projection"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [projection, n] of node()?.projections().deadLetters ?? []) this.set({ projection }, n);
      },
    });
  }

  /** A gauge set from the node at each scrape, so it never drifts from the node's state. */
  private gauge(name: string, help: string, read: (n: ShoalNode) => number): void {
    const node = () => this.node;
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const n = node();
        if (n !== undefined) this.set(read(n));
      },
    });
  }
}
