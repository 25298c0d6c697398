import type { Msg, Subscription } from "@nats-io/transport-node";
import { clusterSubjects, loadSubjectNode } from "../src/nats-names.js";
import { ClusterLoad, type HotActor, type NodeLoad, type ShardLoad } from "./cluster-load.js";
import type { ElectionEvent } from "./election.js";
import { type HotEventBody, HotWatch } from "./hot-watch.js";
import type { ResolvedLoadOptions } from "./load-options.js";
import { decodeLoadReport } from "./load-report.js";
import { LoadReporter, type LoadReporterOptions } from "./load-reporter.js";
import type { MemberRecord, MembershipChange } from "./membership.js";

/** A shard in {@link ClusterLoadSummary}. */
export interface ShardLoadRow extends ShardLoad {
  /** Whether it is hot now: it reached its threshold and has not cooled below threshold × coolRatio since. */
  hot: boolean;
}

/** An actor in {@link ClusterLoadSummary}. */
export interface HotActorRow extends HotActor {
  /** Whether it is hot now: it reached its threshold and has not cooled below threshold × coolRatio since. */
  hot: boolean;
}

/** The cluster's load in the leader's status (`NodeStatus.clusterLoad`). */
export interface ClusterLoadSummary {
  /** Each reporting member's sums, by id. */
  nodes: NodeLoad[];
  /** The busiest shards (top N), hottest first; `hot` while over their threshold (with its hysteresis). */
  shards: ShardLoadRow[];
  /** The hottest actors (top N), hottest first; `hot` likewise. */
  actors: HotActorRow[];
  /** Turns per second at or over which an actor is hot. */
  actorThreshold: number;
  /** Turns per second at or over which a shard is hot. */
  shardThreshold: number;
}

/** What a {@link LoadService} needs of its node. */
export interface LoadServiceOptions extends Omit<LoadReporterOptions, "every"> {
  options: ResolvedLoadOptions;
  election: { isLeader(): boolean; onChange(listener: (e: ElectionEvent) => void): () => void };
  membership: { records(): MemberRecord[]; onChange(listener: (c: MembershipChange) => void): () => void };
  /** Publishes a cluster event (the `hot` events). */
  publish: (body: HotEventBody) => void;
}

/** A dropped report is logged at most this often (ms), with the count since the last line. */
const DROP_LOG_EVERY = 10_000;

/**
 * Load on one node: it reports its own (a {@link LoadReporter}); while it leads, it listens to
 * every member's reports on `shoal.<cluster>.load.*`, keeps them in {@link load} and judges
 * what is hot ({@link HotWatch}: the `hot` events). A report that does not decode or check out
 * is dropped and logged (at most one line per 10 s), never thrown.
 */
export class LoadService {
  /** The cluster's load (fed only while this node leads). */
  readonly load: ClusterLoad;
  private readonly watch: HotWatch;
  private readonly reporter: LoadReporter;
  private sub: Subscription | undefined;
  private readonly unlisten: Array<() => void> = [];
  private stopped = false;
  private dropped = 0;
  private droppedLogged = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: LoadServiceOptions) {
    const { clock, options } = opts;
    this.load = new ClusterLoad({ clock, isMember: (id) => opts.membership.records().some((r) => r.id === id) });
    this.watch = new HotWatch({
      clock,
      actorThreshold: options.hotActorTurnsPerSec,
      shardThreshold: options.hotShardTurnsPerSec,
      coolRatio: options.coolRatio,
      interval: options.hotEventInterval,
      publish: opts.publish,
    });
    this.reporter = new LoadReporter({ ...opts, every: options.reportInterval });
  }

  /** Starts reporting, and listening whenever this node leads (call it before the election starts, to hear a win). */
  start(): void {
    const { election, membership } = this.opts;
    this.unlisten.push(
      election.onChange((e) => {
        if (e.kind === "elected") this.listen();
        else if (e.kind === "stepped-down") this.deafen();
      }),
      membership.onChange((c) => {
        for (const id of c.left) this.load.forget(id);
      }),
    );
    if (election.isLeader()) this.listen();
    this.reporter.start();
  }

  /** Stops reporting and listening. */
  stop(): void {
    this.stopped = true;
    this.reporter.stop();
    for (const u of this.unlisten.splice(0)) u();
    this.deafen();
  }

  /** This node's own load, from its last report. */
  nodeLoad(): NodeLoad | undefined {
    const r = this.reporter.last;
    if (r === undefined) return undefined;
    const own: NodeLoad = { node: r.node, turnsPerSec: 0, mailbox: 0, actors: 0, stateBytes: 0, shards: r.shards.length, age: this.opts.clock.now() - r.at };
    for (const s of r.shards) {
      own.turnsPerSec += s.turnsPerSec;
      own.mailbox += s.mailbox;
      own.actors += s.actors;
      own.stateBytes += s.stateBytes;
    }
    return own;
  }

  /** The cluster's load while this node leads (holds the lease and listens to reports); undefined otherwise. */
  summary(): ClusterLoadSummary | undefined {
    if (this.sub === undefined || !this.opts.election.isLeader()) return undefined;
    const n = this.opts.options.topN;
    return {
      nodes: this.load.nodes(),
      shards: this.load.hotShards(n).map((s) => ({ ...s, hot: this.watch.isHotShard(s.shard) })),
      actors: this.load.hot(n).map((a) => ({ ...a, hot: this.watch.isHotActor(a.type, a.id) })),
      actorThreshold: this.opts.options.hotActorTurnsPerSec,
      shardThreshold: this.opts.options.hotShardTurnsPerSec,
    };
  }

  private listen(): void {
    if (this.stopped || this.sub !== undefined) return;
    const { nc, cluster, log } = this.opts;
    try {
      this.sub = nc.subscribe(clusterSubjects(cluster).loads, {
        callback: (err, msg) => {
          if (err === null) this.received(msg);
        },
      });
    } catch (err) {
      log.warn({ err }, "could not listen to load reports");
    }
  }

  /** Stops listening and forgets what was heard: the next leader starts afresh. */
  private deafen(): void {
    try {
      this.sub?.unsubscribe();
    } catch {
      // the connection is closed already: nothing to unsubscribe from
    }
    this.sub = undefined;
    this.load.clear();
    this.watch.reset();
  }

  private received(msg: Msg): void {
    const node = loadSubjectNode(this.opts.cluster, msg.subject);
    try {
      if (node === undefined) throw new Error("not a load subject");
      const report = decodeLoadReport(msg.data, node);
      if (!this.load.accept(report)) return; // not a member (yet, or any more): its next report counts
      this.watch.check(this.load);
    } catch (err) {
      this.drop(msg.subject, err);
    }
  }

  private drop(subject: string, err: unknown): void {
    this.dropped++;
    const now = this.opts.clock.now();
    if (now - this.droppedLogged < DROP_LOG_EVERY) return;
    this.droppedLogged = now;
    this.opts.log.warn(
      { subject: subject.slice(0, 300), err: String((err as Error)?.message ?? err).slice(0, 300), dropped: this.dropped },
      "load report dropped",
    );
    this.dropped = 0;
  }
}
