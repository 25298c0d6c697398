import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { ActorDefinition } from "../src/actor/define.js";
import { checkClusterName } from "../src/actor/names.js";
import { type Clock, systemClock } from "../src/clock.js";
import { encodeToken } from "../src/codec/token.js";
import { ActorMovedError } from "../src/errors.js";
import { ActorHost } from "../src/host.js";
import { type Logger, silentLogger } from "../src/log.js";
import { type ClusterTiming, clusterBuckets, resolveTiming } from "./config.js";
import { LeaderElection } from "./election.js";
import { ClusterEvents } from "./events.js";
import type { KvProvider, KvWatch } from "./kv.js";
import { NatsKvProvider } from "./kv-nats.js";
import { ShardManager } from "./manager.js";
import { ShardMapStore, type StoredMap } from "./map-store.js";
import { Membership, type MemberRecord } from "./membership.js";
import { OwnershipGuard } from "./ownership.js";
import type { ShardMap } from "./placement.js";
import { shardOf } from "./shard-hash.js";

export interface NodeOptions extends Partial<ClusterTiming> {
  /** An open connection; the node does not close it. */
  nc: NatsConnection;
  cluster: string;
  nodeId: string;
  actors: readonly ActorDefinition[];
  /** Replicas of the buckets and the event stream when this node creates them. */
  replicas?: number;
  logger?: Logger;
  clock?: Clock;
  /** KV backend (default: NATS KV on `nc`). */
  kv?: KvProvider;
  /** Free-form facts published in the membership record (e.g. the HTTP port). */
  meta?: Record<string, string>;
}

/** What `status` reports about one node. */
export interface NodeStatus {
  node: string;
  cluster: string;
  state: MemberRecord["state"];
  leader: string | null;
  epoch: number | null;
  isLeader: boolean;
  mapVersion: number | null;
  mapEpoch: number | null;
  shards: number;
  actors: number;
  members: MemberRecord[];
}

/**
 * One node of a cluster: the actor host plus membership, leader election, the shard manager
 * (active on the leader) and the shard map every node watches. Answers the ingress for the
 * shards it owns; others get ACTOR_MOVED with the owner it knows.
 */
export class ShoalNode {
  private current: StoredMap | undefined;
  private firstMap!: () => void;
  /** Resolves once this node holds a shard map (at once when joining a running cluster). */
  readonly mapped: Promise<void> = new Promise((resolve) => (this.firstMap = resolve));
  private mapWatch: KvWatch | undefined;
  private statusSub: Subscription | undefined;
  private stopped = false;

  private constructor(
    readonly nodeId: string,
    readonly cluster: string,
    readonly host: ActorHost,
    readonly membership: Membership,
    readonly election: LeaderElection,
    private readonly manager: ShardManager,
    private readonly events: ClusterEvents,
    private readonly log: Logger,
  ) {}

  static async start(opts: NodeOptions): Promise<ShoalNode> {
    const cluster = checkClusterName(opts.cluster);
    const timing = resolveTiming(opts);
    const clock = opts.clock ?? systemClock;
    const log = opts.logger ?? silentLogger;
    const kv = opts.kv ?? new NatsKvProvider(opts.nc, { replicas: opts.replicas });
    const names = clusterBuckets(cluster);
    const [membersKv, leaderKv, mapKv] = await Promise.all([
      kv.bucket(names.members, { ttl: timing.memberTtl, replicas: opts.replicas }),
      kv.bucket(names.leader, { ttl: timing.leaderTtl, replicas: opts.replicas }),
      kv.bucket(names.map, { ttl: 0, replicas: opts.replicas }),
    ]);
    const maps = new ShardMapStore(mapKv);
    await maps.ensureShardCount(timing.shardCount);

    let node: ShoalNode | undefined;
    const host = await ActorHost.start({
      nc: opts.nc,
      cluster,
      nodeId: opts.nodeId,
      actors: opts.actors,
      replicas: opts.replicas,
      logger: log,
      runtime: { clock },
      asker: (runtime) => new OwnershipGuard(runtime, opts.nodeId, () => node?.map),
    });
    const self: MemberRecord = { id: opts.nodeId, weight: timing.weight, state: "active", startedAt: clock.now() };
    if (opts.meta !== undefined) self.meta = opts.meta;
    const membership = new Membership({ kv: membersKv, clock, self, heartbeatInterval: timing.heartbeatInterval, memberTtl: timing.memberTtl, logger: log });
    const election = new LeaderElection({ kv: leaderKv, nodeId: opts.nodeId, clock, leaderTtl: timing.leaderTtl, renewInterval: timing.leaderTtl / 3, logger: log });
    const events = new ClusterEvents(opts.nc, cluster, opts.nodeId, clock, log);
    const manager = new ShardManager({ election, membership, maps, events, clock, shardCount: timing.shardCount, debounce: timing.rebalanceDebounce, logger: log });
    node = new ShoalNode(opts.nodeId, cluster, host, membership, election, manager, events, log);

    node.mapWatch = await maps.watch(
      (m) => node!.applyMap(m),
      (err) => log.error({ err }, "ignored an undecodable shard map"),
    );
    await membership.start();
    manager.start(); // before the election, so a node that wins at once is heard
    await election.start();
    node.serveStatus(opts.nc);
    log.info({ ...timing }, "node joined");
    return node;
  }

  /** The map this node routes by (undefined before the first). */
  get map(): ShardMap | undefined {
    return this.current?.map;
  }

  /** Shards this node owns in its current map. */
  ownedShards(): number[] {
    const out: number[] = [];
    this.map?.owners.forEach((o, i) => o === this.nodeId && out.push(i));
    return out;
  }

  status(): NodeStatus {
    const leader = this.election.leader;
    return {
      node: this.nodeId,
      cluster: this.cluster,
      state: this.membership.self.state,
      leader: leader?.id ?? null,
      epoch: leader?.epoch ?? null,
      isLeader: this.election.isLeader(),
      mapVersion: this.map?.version ?? null,
      mapEpoch: this.map?.epoch ?? null,
      shards: this.ownedShards().length,
      actors: this.host.runtime.stats().activeActors,
      members: this.membership.records(),
    };
  }

  /** Leaves gracefully: resigns leadership and membership at once, then stops the host. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Membership events come from the leader; when the leader itself leaves, nobody else would
    // say so (its successor is still a follower when the record goes), so it says it first.
    if (this.election.isLeader()) this.events.publish({ type: "member.left", member: this.nodeId });
    await this.manager.stop();
    // Record first, lease second: the successor is elected into a membership without us, so its
    // first map already excludes this node (one map for the leave, not two).
    await this.membership.stop();
    await this.election.stop();
    this.mapWatch?.stop();
    await this.statusSub?.drain().catch(() => undefined);
    await this.host.stop();
    this.log.info("node left");
  }

  private applyMap(next: StoredMap): void {
    const before = this.current;
    if (before !== undefined && next.revision <= before.revision) return;
    this.current = next;
    this.firstMap();
    const lost: Set<number> = new Set();
    before?.map.owners.forEach((o, shard) => {
      if (o === this.nodeId && next.map.owners[shard] !== this.nodeId) lost.add(shard);
    });
    this.log.info({ version: next.map.version, epoch: next.map.epoch, owned: this.ownedShards().length, lost: lost.size }, "shard map applied");
    if (lost.size === 0) return;
    // Without live migration yet, actors of lost shards just leave memory: their new owner
    // rebuilds them from the event store. Messages queued for them are refused, never run here.
    const count = next.map.shardCount;
    void this.host.runtime.pause((type, id) => lost.has(shardOf(type, id, count))).then((group) => {
      for (const p of group.release()) {
        p.reject(new ActorMovedError(`shard moved to ${next.map.owners[shardOf(p.type, p.id, count)] ?? "nobody yet"}`));
      }
    });
  }

  private serveStatus(nc: NatsConnection): void {
    const te = new TextEncoder();
    this.statusSub = nc.subscribe(`shoal.${this.cluster}.node.${encodeToken(this.nodeId)}.status`, {
      callback: (err, msg) => {
        if (err === null) msg.respond(te.encode(JSON.stringify(this.status())));
      },
    });
  }
}
