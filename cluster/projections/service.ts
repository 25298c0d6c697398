import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { KvWatchEntry } from "@nats-io/kv";
import type { NatsConnection, QueuedIterator } from "@nats-io/transport-node";
import type { Clock, TimerHandle } from "../../src/clock.js";
import type { Logger } from "../../src/log.js";
import { streamName } from "../../src/nats-names.js";
import { ProjectionBucket } from "../../src/projection/bucket.js";
import { DeadLetters, type StoredDeadLetter } from "../../src/projection/dead-letters.js";
import { type Checkpoint, type DeadLetter, META_KEY, type ProjectionMeta } from "../../src/projection/layout.js";
import { partitionShard } from "../../src/projection/partition.js";
import type { ProjectionDefinition } from "../../src/projection/spec.js";
import type { ShardMap } from "../../src/routing/shard-map.js";
import type { ProjectionEventBody } from "../events.js";
import { PartitionRunner, type RunnerState } from "./runner.js";
import { BuildSwitch } from "./switch.js";

/** What the service needs. */
export interface ProjectionServiceOptions {
  nc: NatsConnection;
  cluster: string;
  nodeId: string;
  replicas: number;
  projections: readonly ProjectionDefinition[];
  clock: Clock;
  log: Logger;
  publish: (body: ProjectionEventBody) => void;
  /** How often ended runners of owned partitions are started again (ms, default 5000; checked once a second). */
  recheckEvery?: number;
}

/** One partition this node runs, as status and metrics show it. */
export interface PartitionStatus {
  /** The projection's name. */
  readonly projection: string;
  /** The build this partition belongs to. */
  readonly build: number;
  /** Whether that build serves reads (false: it is being built). */
  readonly serving: boolean;
  /** The partition's number. */
  readonly partition: number;
  /** Where its runner is. */
  readonly state: RunnerState;
  /** Its last checkpoint committed (or read when claiming). */
  readonly checkpoint: Checkpoint;
}

interface Projection {
  readonly def: ProjectionDefinition;
  readonly bucket: ProjectionBucket;
  meta: ProjectionMeta;
  watch?: QueuedIterator<KvWatchEntry>;
  readonly switcher: BuildSwitch;
}

/**
 * The projections of one node: for every build being served or built, the partitions whose shard
 * the map gives this node each get a {@link PartitionRunner}; partitions of lost shards are stopped.
 * It follows each projection's `_meta` (rebuilds, switches, resumes) and the dead-letter bucket
 * (retries asked for by `shoal dlq retry`).
 */
export class ProjectionService {
  private readonly runners = new Map<string, { runner: PartitionRunner; build: number; epoch: number }>();
  private readonly projections: Projection[] = [];
  private readonly retries = new Map<string, StoredDeadLetter>();
  /** The dead letters waiting, by key (`<projection>.b<build>.<seq>-<index>`), from the bucket's watch. */
  private readonly deadKeys = new Set<string>();
  private map: ShardMap | undefined;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private dlqWatch: QueuedIterator<KvWatchEntry> | undefined;

  private constructor(
    private readonly o: ProjectionServiceOptions,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly deadLetters: DeadLetters,
  ) {}

  /** Opens (creating when missing) the buckets of the projections and the dead-letter bucket. */
  static async open(o: ProjectionServiceOptions): Promise<ProjectionService> {
    const deadLetters = await DeadLetters.open(o.nc, o.cluster, { replicas: o.replicas });
    const s = new ProjectionService(o, jetstream(o.nc), await jetstreamManager(o.nc), deadLetters);
    for (const def of o.projections) {
      const bucket = await ProjectionBucket.open({ nc: o.nc, cluster: o.cluster, name: def.name, create: { replicas: o.replicas } });
      const meta = await ensureMeta(bucket, def, o.clock.now());
      s.projections.push({ def, bucket, meta, switcher: new BuildSwitch(bucket, o.clock, o.log, o.publish, def.name) });
    }
    await s.watch();
    s.recheck();
    return s;
  }

  /** The map changed: run what it gives this node, stop what it took away. */
  own(map: ShardMap): void {
    this.map = map;
    this.reconcile();
  }

  status(): PartitionStatus[] {
    const out: PartitionStatus[] = [];
    for (const [key, { runner, build }] of this.runners) {
      const [projection, , partition] = key.split("/") as [string, string, string];
      const p = this.projections.find((x) => x.def.name === projection);
      out.push({ projection, build, serving: p?.meta.serving === build, partition: Number(partition), state: runner.state, checkpoint: runner.checkpoint });
    }
    return out;
  }

  /** Dead letters waiting, per projection (from the bucket's watch). */
  deadLetterCounts(): ReadonlyMap<string, number> {
    const counts = new Map<string, number>();
    for (const key of this.deadKeys) {
      const projection = key.slice(0, key.indexOf("."));
      counts.set(projection, (counts.get(projection) ?? 0) + 1);
    }
    return counts;
  }

  /** Stops every runner after its event in hand, each committing what it did. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.dlqWatch?.stop();
    for (const p of this.projections) {
      p.watch?.stop();
      p.switcher.stop();
    }
    await Promise.all([...this.runners.values()].map((r) => r.runner.stop()));
    this.runners.clear();
  }

  private reconcile(): void {
    const map = this.map;
    if (map === undefined || this.stopped) return;
    const wanted = new Set<string>();
    for (const p of this.projections) {
      for (const build of [p.meta.serving, p.meta.building]) {
        if (build === undefined) continue;
        const info = p.meta.builds[String(build)];
        if (info === undefined) continue;
        for (let k = 0; k < info.partitions; k++) {
          if (map.owners[partitionShard(`${p.def.name}.b${build}`, k, info.partitions, map.shardCount)] !== this.o.nodeId) continue;
          const key = `${p.def.name}/${build}/${k}`;
          wanted.add(key);
          const had = this.runners.get(key);
          if (had !== undefined && !ended(had.runner.state, had.runner, p.meta)) continue;
          if (had !== undefined) void had.runner.stop();
          this.startRunner(p, key, build, k, info.partitions, map.version);
        }
      }
    }
    for (const [key, r] of this.runners) {
      if (wanted.has(key)) continue;
      this.runners.delete(key);
      void r.runner.stop();
    }
  }

  /** Stops this node's runners of one build (a replay moved their checkpoints); reconcile starts them again from there. */
  private async restartBuild(name: string, build: number): Promise<void> {
    const prefix = `${name}/${build}/`;
    const stopping: Promise<void>[] = [];
    for (const [key, r] of this.runners) {
      if (!key.startsWith(prefix)) continue;
      this.runners.delete(key);
      stopping.push(r.runner.stop());
    }
    await Promise.all(stopping);
  }

  private startRunner(p: Projection, key: string, build: number, partition: number, partitions: number, epoch: number): void {
    const runner = new PartitionRunner({
      def: p.def,
      build,
      partition,
      partitions,
      bucket: p.bucket,
      deadLetters: this.deadLetters,
      js: this.js,
      jsm: this.jsm,
      stream: streamName(this.o.cluster),
      journalPrefix: `shoal.${this.o.cluster}.journal.`,
      nodeId: this.o.nodeId,
      epoch,
      resumes: () => p.meta.resumes ?? 0,
      frozen: () => p.meta.freezing === build,
      clock: this.o.clock,
      log: this.o.log,
      publish: this.o.publish,
      onCommit: () => {
        if (p.meta.building === build && partition === 0) void p.switcher.consider(p.meta);
      },
    });
    this.runners.set(key, { runner, build, epoch });
    for (const d of this.retries.values()) if (d.projection === p.def.name && d.build === build && d.partition === partition) runner.retry(d);
    runner.start();
  }

  private async watch(): Promise<void> {
    for (const p of this.projections) {
      p.watch = await p.bucket.kv.watch({ key: META_KEY });
      void (async () => {
        for await (const e of p.watch!) {
          if (e.operation !== "PUT") continue;
          const replays = p.meta.replays ?? 0;
          p.meta = JSON.parse(e.string()) as ProjectionMeta;
          if ((p.meta.replays ?? 0) !== replays) await this.restartBuild(p.def.name, p.meta.serving);
          this.reconcile();
          p.switcher.purgeRetired(p.meta).catch((err: unknown) => this.o.log.debug({ err }, "purging retired builds failed"));
        }
      })().catch((err: unknown) => this.o.log.warn({ err }, "projection meta watch ended"));
    }
    this.dlqWatch = await this.deadLetters.kv.watch({ key: ">" });
    void (async () => {
      for await (const e of this.dlqWatch!) this.onDeadLetter(e);
    })().catch((err: unknown) => this.o.log.warn({ err }, "dead-letter watch ended"));
  }

  private onDeadLetter(e: KvWatchEntry): void {
    const before = this.retries.get(e.key);
    if (e.operation !== "PUT") {
      this.retries.delete(e.key);
      this.deadKeys.delete(e.key);
      return;
    }
    this.deadKeys.add(e.key);
    let d: DeadLetter;
    try {
      d = JSON.parse(e.string()) as DeadLetter;
    } catch {
      return;
    }
    if (d.state !== "retry") {
      if (before !== undefined) this.retries.delete(e.key);
      return;
    }
    const stored: StoredDeadLetter = { ...d, key: e.key, revision: e.revision };
    this.retries.set(e.key, stored);
    this.runners.get(`${d.projection}/${d.build}/${d.partition}`)?.runner.retry(stored);
  }

  /**
   * Once a second: a rebuild this node drives (it runs the new build's partition 0) takes its
   * next step even when no commit prompts it (a quiet journal). Every `recheckEvery`: ended
   * runners of partitions still owned start again (a claim lost to a node that has since let go).
   */
  private recheck(tick = 0): void {
    if (this.stopped) return;
    const every = Math.max(1, Math.round((this.o.recheckEvery ?? 5000) / 1000));
    if (tick % every === 0) this.reconcile();
    for (const p of this.projections) {
      if (p.meta.building !== undefined && this.runners.has(`${p.def.name}/${p.meta.building}/0`)) void p.switcher.consider(p.meta);
    }
    this.timer = this.o.clock.setTimeout(() => this.recheck(tick + 1), 1000);
  }
}

/** Whether a runner is over and, the map still giving its partition here, should be started anew. */
function ended(state: RunnerState, runner: PartitionRunner, meta: ProjectionMeta): boolean {
  if (state === "fenced" || state === "ended") return true;
  // A stopped partition waits for `shoal projection resume`.
  if (state === "stopped") return (meta.resumes ?? 0) > (runner.checkpoint.stopped?.resumes ?? 0);
  return false;
}

/** The projection's `_meta`, created at build 1 by the first node to get here. */
async function ensureMeta(bucket: ProjectionBucket, def: ProjectionDefinition, now: number): Promise<ProjectionMeta> {
  for (;;) {
    const { value } = await bucket.meta();
    if (value !== undefined) return value;
    const meta: ProjectionMeta = { subjects: def.subjects, serving: 1, builds: { "1": { partitions: def.partitions.count, started: now } } };
    try {
      await bucket.write(META_KEY, meta, 0);
      return meta;
    } catch {
      // Another node created it first: read theirs.
    }
  }
}
