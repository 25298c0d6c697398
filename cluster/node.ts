import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { checkClusterName } from "../src/actor/names.js";
import { type Clock, systemClock } from "../src/clock.js";
import { ActorMovedError, ErrorCode, ShoalError, UnavailableError } from "../src/errors.js";
import { ActorHost, type HostOptions } from "../src/host.js";
import type { IngressOptions } from "../src/ingress/ingress.js";
import { type Logger, silentLogger } from "../src/log.js";
import { clusterBuckets, statusSubject } from "../src/nats-names.js";
import { type ReplyTo, settleWith } from "../src/reply-to.js";
import type { EventStore } from "../src/store/types.js";
import { type ClusterTiming, resolveTiming } from "./config.js";
import { LeaderElection } from "./election.js";
import { ClusterEvents } from "./events.js";
import type { KvProvider, KvWatch } from "./kv.js";
import { NatsKvProvider } from "./kv-nats.js";
import { ShardManager } from "./manager.js";
import { ShardMapStore, type StoredMap } from "./map-store.js";
import { Membership, type MemberRecord } from "./membership.js";
import { type MigrationEnded, Migrations } from "./migration.js";
import type { ShardMap } from "./placement.js";
import { type MapView, Router } from "./router.js";
import { shardOf } from "./shard-hash.js";
import { NatsTransport } from "./transport.js";
import { retryStartup } from "./startup.js";
import type { NodeStatus } from "./status.js";
import type { RpcRequest } from "./wire.js";

/** A node's options: the host's (connection, cluster, id, actors, replicas, logger) plus the cluster's. */
export interface NodeOptions extends Partial<ClusterTiming>, Pick<HostOptions, "nc" | "cluster" | "nodeId" | "actors" | "replicas" | "logger"> {
  clock?: Clock;
  /** KV backend (default: NATS KV on `nc`). */
  kv?: KvProvider;
  /** Free-form facts published in the membership record (e.g. the HTTP port). */
  meta?: Record<string, string>;
  /** Longest a shard handoff may take before the destination serves from the store. Default 10 s. */
  handoffTimeout?: number;
  /** Shards handed off at once. Default 8. */
  migrationParallelism?: number;
  /** On the leader: most live handoffs one map starts; further moves follow in later maps. Default: see {@link ShardManager}. */
  maxHandoffsPerMap?: number;
  /** On the leader: longest it waits for one step's handoffs to end before publishing the next step anyway (ms). Default 5 s. */
  rebalanceStepTimeout?: number;
  /** How long joining may retry while NATS is not ready (ms). Default 30 s. */
  startupTimeout?: number;
  /** Observation hooks (metrics); none by default. */
  hooks?: NodeHooks;
}

/** Where an observer (e.g. `NodeMetrics`) plugs into a node. Hooks must not throw. */
export interface NodeHooks {
  /** Wraps the event store the runtime and migrations use. */
  wrapStore?: (store: EventStore) => EventStore;
  /** Each ingress request answered: type, "ok" or the error code, seconds from receipt to reply. */
  onAnswered?: IngressOptions["onAnswered"];
  /** Each shard move ended on this node. */
  onMigration?: MigrationEnded;
  /** Tells that failed (no caller hears of it): `count` of them, by error code ("INTERNAL" for a foreign error). */
  onTellsFailed?: (code: string, count: number) => void;
}

export type { NodeStatus } from "./status.js";

/**
 * One node of a cluster: the actor host plus membership, leader election, the shard manager
 * (active on the leader), the shard map every node watches, the router (the ingress asks it)
 * and live migration of the shards the map moves.
 */
export class ShoalNode implements MapView {
  private stored: StoredMap | undefined;
  private mapWatch: KvWatch | undefined;
  private statusSub: Subscription | undefined;
  private eventsSub: Subscription | undefined;
  private stopped = false;
  private stale = false;
  /** Lease lapses already answered by a map re-read. */
  private lapsesSeen = 0;
  private refreshing: Promise<void> | undefined;
  private mapRead: Promise<void> | undefined;
  private mapWaiters = new Set<() => void>();
  private firstMap!: () => void;
  /** Resolves once this node holds a shard map (at once when joining a running cluster). */
  readonly mapped: Promise<void> = new Promise((resolve) => (this.firstMap = resolve));
  /** Set once the parts exist (they need the node for their callbacks). */
  private parts!: {
    host: ActorHost;
    membership: Membership;
    election: LeaderElection;
    manager: ShardManager;
    events: ClusterEvents;
    maps: ShardMapStore;
    router: Router;
    migrations: Migrations;
    transport: NatsTransport;
  };

  private constructor(
    readonly nodeId: string,
    readonly cluster: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  static async start(opts: NodeOptions): Promise<ShoalNode> {
    const cluster = checkClusterName(opts.cluster);
    const timing = resolveTiming(opts);
    const clock = opts.clock ?? systemClock;
    const log = opts.logger ?? silentLogger;
    const kv = opts.kv ?? new NatsKvProvider(opts.nc, { replicas: opts.replicas });
    const names = clusterBuckets(cluster);
    const retry = <T>(what: string, op: () => Promise<T>) => retryStartup(what, op, { clock, log, deadlineMs: opts.startupTimeout });
    // One after the other: on a fresh JetStream cluster, several nodes creating several
    // replicated buckets at once is what makes creation time out.
    const membersKv = await retry("members bucket", () => kv.bucket(names.members, { ttl: timing.memberTtl, replicas: opts.replicas }));
    const leaderKv = await retry("leader bucket", () => kv.bucket(names.leader, { ttl: timing.leaderTtl, replicas: opts.replicas }));
    const mapKv = await retry("map bucket", () => kv.bucket(names.map, { ttl: 0, replicas: opts.replicas }));
    const maps = new ShardMapStore(mapKv);
    await retry("shard count", () => maps.ensureShardCount(timing.shardCount));

    const node = new ShoalNode(opts.nodeId, cluster, clock, log);
    const transport = new NatsTransport(opts.nc, cluster, opts.nodeId, log, clock);
    let router: Router | undefined;
    // A cluster whose journal existed must find it again: never start over from an empty stream.
    const journalExisted = await retry("journal record", () => maps.journalRecorded());
    const host = await retry("event store", () => ActorHost.start({
      createStream: !journalExisted,
      nc: opts.nc,
      cluster,
      nodeId: opts.nodeId,
      actors: opts.actors,
      replicas: opts.replicas,
      logger: log,
      runtime: { clock, partitionOf: (type, id) => shardOf(type, id, timing.shardCount), fence: (key) => node.fence(key.type, key.id) },
      asker: () => ({ ask: (type, id, msg, o) => router!.ask(type, id, msg, o) }),
      wrapStore: opts.hooks?.wrapStore,
      onAnswered: opts.hooks?.onAnswered,
    }));
    if (!journalExisted) await retry("journal record", () => maps.recordJournal(`SHOAL_EVENTS_${cluster}`));
    const tellsFailed = opts.hooks?.onTellsFailed;
    const onTellFailed = (err: unknown) => {
      const code = ShoalError.is(err) ? err.code : ErrorCode.INTERNAL;
      log.debug({ err, code }, "a tell failed");
      tellsFailed?.(code, 1);
    };
    // A peer reports only how many of ours failed there (and logged why), not which.
    transport.onTellsFailed((peer, n) => {
      log.debug({ peer, failed: n }, "tells failed at a peer");
      tellsFailed?.("AT_PEER", n);
    });
    router = new Router({ nodeId: opts.nodeId, local: host.runtime, transport, maps: node, clock, onSlow: (what) => log.info({ what }, "router waited"), onTellFailed });
    const self: MemberRecord = { id: opts.nodeId, weight: timing.weight, state: "active", startedAt: clock.now() };
    if (opts.meta !== undefined) self.meta = opts.meta;
    const membership = new Membership({ kv: membersKv, clock, self, heartbeatInterval: timing.heartbeatInterval, memberTtl: timing.memberTtl, logger: log });
    const election = new LeaderElection({ kv: leaderKv, nodeId: opts.nodeId, clock, leaderTtl: timing.leaderTtl, renewInterval: timing.leaderTtl / 3, logger: log });
    const events = new ClusterEvents(opts.nc, cluster, opts.nodeId, clock, log);
    const manager = new ShardManager({ election, membership, maps, events, clock, shardCount: timing.shardCount, debounce: timing.rebalanceDebounce, maxHandoffsPerMap: opts.maxHandoffsPerMap, stepTimeout: opts.rebalanceStepTimeout, logger: log });
    const migrations = new Migrations({
      nodeId: opts.nodeId,
      runtime: host.runtime,
      store: host.store,
      transport,
      maps: node,
      events,
      clock,
      isAlive: (id) => membership.records().some((r) => r.id === id),
      handoffTimeout: opts.handoffTimeout,
      parallelism: opts.migrationParallelism,
      logger: log,
      onEnded: opts.hooks?.onMigration,
    });
    node.parts = { host, membership, election, manager, events, maps, router, migrations, transport };

    transport.serve((req, to) => node.onPeer(req, to));
    node.mapWatch = await maps.watch(
      (m) => node.applyMap(m),
      (err) => log.error({ err }, "ignored an undecodable shard map"),
    );
    membership.onChange((c) => c.left.forEach((id) => migrations.sourceGone(id)));
    // The leader publishes a rebalance in steps; each step's handoffs report their end here.
    node.eventsSub = ClusterEvents.subscribe(opts.nc, cluster, (e) => {
      if (e.type === "migration" && typeof e.mapVersion === "number") manager.migrationEnded(e.mapVersion);
    });
    await retry("membership", () => membership.start());
    manager.start(); // before the election, so a node that wins at once is heard
    await retry("election", () => election.start());
    node.serveStatus(opts.nc);
    node.pollMap(timing.heartbeatInterval);
    log.info({ ...timing }, "node joined");
    return node;
  }

  get host(): ActorHost {
    return this.parts.host;
  }

  get membership(): Membership {
    return this.parts.membership;
  }

  get election(): LeaderElection {
    return this.parts.election;
  }

  /** True once {@link stop} (or the end of {@link drain}) has begun. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Sends an ask to wherever its actor lives (the same path as the ingress). */
  ask(type: string, id: string, msg: unknown, opts?: { timeout?: number }): Promise<unknown> {
    return this.parts.router.ask(type, id, msg, opts);
  }

  /** Sends `msg` without wanting the reply: see {@link Router.send}. */
  send(type: string, id: string, msg: unknown, opts?: { timeout?: number }): Promise<void> {
    return this.parts.router.send(type, id, msg, opts);
  }

  /**
   * Sends `msg` and forgets it: no promise, no reply, ordered with this node's other messages to
   * the actor and not lost to a move, but lost if its owner crashes. See {@link Router.tell}.
   */
  tell(type: string, id: string, msg: unknown, opts?: { timeout?: number }): void {
    this.parts.router.tell(type, id, msg, opts);
  }

  /** The map this node routes by (undefined before the first). */
  get map(): ShardMap | undefined {
    return this.stored?.map;
  }

  /** MapView: the current map. */
  current(): ShardMap | undefined {
    return this.map;
  }

  /** Shards this node owns in its current map. */
  ownedShards(): number[] {
    const out: number[] = [];
    this.map?.owners.forEach((o, i) => o === this.nodeId && out.push(i));
    return out;
  }

  status(): NodeStatus {
    const leader = this.parts.election.leader;
    return {
      node: this.nodeId,
      cluster: this.cluster,
      state: this.parts.membership.self.state,
      leader: leader?.id ?? null,
      epoch: leader?.epoch ?? null,
      isLeader: this.parts.election.isLeader(),
      mapVersion: this.map?.version ?? null,
      mapEpoch: this.map?.epoch ?? null,
      shards: this.ownedShards().length,
      actors: this.parts.host.runtime.stats().activeActors,
      migrations: this.parts.migrations.inFlight,
      members: this.parts.membership.records(),
    };
  }

  /**
   * Graceful drain: marks this node draining so the leader moves every shard away, waits until
   * it owns nothing and has handed everything off (at most `timeoutMs`), then leaves.
   * Resolves true when it drained completely, false when the time ran out first.
   */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const deadline = this.clock.now() + timeoutMs;
    await this.parts.membership.setState("draining");
    this.log.info("draining");
    const empty = await this.waitFor(() => this.ownedShards().length === 0, timeoutMs);
    const left = Math.max(0, deadline - this.clock.now());
    const idle = empty && (await Promise.race([this.parts.migrations.whenIdle().then(() => true), this.sleep(left).then(() => false)]));
    if (!idle) this.log.warn({ owned: this.ownedShards().length, migrations: this.parts.migrations.inFlight }, "drain timed out");
    await this.stop();
    return idle;
  }

  /** Leaves gracefully: resigns leadership and membership, then stops the host. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const { manager, election, membership, events, migrations, transport, host } = this.parts;
    // Membership events come from the leader; when the leader itself leaves, nobody else would
    // say so (its successor is still a follower when the record goes), so it says it first.
    if (election.isLeader()) events.publish({ type: "member.left", member: this.nodeId });
    await manager.stop();
    // Record first, lease second: the successor is elected into a membership without us, so its
    // first map already excludes this node (one map for the leave, not two).
    await membership.stop();
    await election.stop();
    // Replies still owed (asks taken through the ingress or from peers and forwarded on, tail
    // messages whose answers come back here) are waited for before the connection goes.
    await Promise.all([host.ingress.stop(), transport.stop()]);
    this.mapWatch?.stop();
    migrations.stop();
    await this.statusSub?.drain().catch(() => undefined);
    await this.eventsSub?.drain().catch(() => undefined);
    await host.stop();
    transport.close();
    for (const wake of this.mapWaiters) wake();
    this.log.info("node left");
  }

  // ---- MapView ------------------------------------------------------------------------------

  waitFor(until: (m: ShardMap | undefined) => boolean, timeoutMs: number): Promise<boolean> {
    if (until(this.map)) return Promise.resolve(true);
    // Someone needs a map this node has not seen (a peer's request carried a newer version):
    // read it now rather than trust the watch alone, which can lag after a NATS server dies.
    this.refreshMap();
    return new Promise((resolve) => {
      const check = () => {
        if (!until(this.map) && !this.stopped) return;
        this.mapWaiters.delete(check);
        timer.cancel();
        resolve(until(this.map));
      };
      const timer = this.clock.setTimeout(() => {
        this.mapWaiters.delete(check);
        resolve(until(this.map));
      }, timeoutMs);
      this.mapWaiters.add(check);
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * The fence of last resort, checked by the runtime before every turn and before every append:
   * this node acts for an actor only while its membership lease holds (a node paused past
   * memberTtl may have been declared gone and its shards given away) and its map says it owns
   * the actor's shard. After a lapse it re-confirms membership and re-reads the map first.
   */
  private fence(type: string, id: string): void {
    const m = this.parts.membership;
    if (this.stale || !m.holdsLease() || m.lapses !== this.lapsesSeen) {
      this.refreshAfterLapse();
      throw new UnavailableError("this node's membership lease lapsed; it re-confirms before acting again");
    }
    const map = this.map;
    if (map === undefined) throw new UnavailableError("this node has no shard map yet");
    const owner = map.owners[shardOf(type, id, map.shardCount)] ?? null;
    if (owner !== this.nodeId) throw new ActorMovedError(`shard moved to ${owner ?? "nobody yet"}`, { details: { owner, mapVersion: map.version } });
  }

  private refreshAfterLapse(): void {
    this.stale = true;
    this.refreshing ??= (async () => {
      try {
        await this.parts.membership.reconfirm();
        // Every lapse counted so far is answered by a map read that starts after it.
        const lapses = this.parts.membership.lapses;
        const fresh = await this.parts.maps.read();
        if (fresh !== undefined) this.applyMap(fresh);
        this.lapsesSeen = lapses;
        this.stale = false;
        this.log.info("membership re-confirmed after a lapse; map re-read");
      } catch (err) {
        this.log.warn({ err }, "could not re-confirm membership yet");
      } finally {
        this.refreshing = undefined;
      }
    })();
  }

  /**
   * Reads the stored map and applies it if newer: the backstop for the map watch (a KV watch
   * whose consumer lived on a NATS server that died can stay silent for a long time). One read
   * at a time; asked for on demand and every heartbeat interval.
   */
  private refreshMap(): void {
    if (this.stopped || this.mapRead !== undefined) return;
    this.mapRead = this.parts.maps
      .read()
      .then((m) => {
        if (m !== undefined && !this.stopped) this.applyMap(m);
      })
      .catch((err: unknown) => this.log.debug({ err: (err as Error)?.message }, "map re-read failed"))
      .finally(() => (this.mapRead = undefined));
  }

  private pollMap(every: number): void {
    if (this.stopped) return;
    this.clock.setTimeout(() => {
      this.refreshMap();
      this.pollMap(every);
    }, every);
  }

  private onPeer(req: RpcRequest, to: ReplyTo): void {
    const { router, migrations } = this.parts;
    if (req.k === "ask" && req.tail === undefined) return router.handleForwarded(req, to);
    settleWith(req.k === "ask" ? migrations.onTailAsk(req) : req.k === "handoff" ? migrations.onHandoff(req) : migrations.onTailEnd(req), to);
  }

  private applyMap(next: StoredMap): void {
    const before = this.stored;
    if (before !== undefined && next.revision <= before.revision) return;
    this.stored = next;
    this.firstMap();
    this.log.info({ version: next.map.version, epoch: next.map.epoch, owned: this.ownedShards().length }, "shard map applied");
    this.parts.migrations.onMap(before?.map, next.map);
    for (const wake of [...this.mapWaiters]) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  private serveStatus(nc: NatsConnection): void {
    const te = new TextEncoder();
    this.statusSub = nc.subscribe(statusSubject(this.cluster, this.nodeId), {
      callback: (err, msg) => {
        if (err === null) msg.respond(te.encode(JSON.stringify(this.status())));
      },
    });
  }
}
