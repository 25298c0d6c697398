import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { checkClusterName, checkRoles } from "../src/actor/names.js";
import { type Clock, systemClock } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { ActorHost } from "../src/host.js";
import { type Logger, silentLogger } from "../src/log.js";
import { clusterBuckets, streamName } from "../src/nats-names.js";
import { type ClusterTiming, resolveTiming } from "./config.js";
import type { ClusterLoad } from "./cluster-load.js";
import { LeaderElection } from "./election.js";
import { ClusterEvents } from "./events.js";
import { notHostedHere } from "./hosted-types.js";
import { KeepAliveRecords } from "./keep-alive-records.js";
import { KeepAliveStarter } from "./keep-alive-starter.js";
import { resolveLoadOptions } from "./load-options.js";
import { LoadService } from "./load-service.js";
import { NatsKvProvider } from "./kv-nats.js";
import { ShardManager } from "./manager.js";
import { ShardMapStore } from "./map-store.js";
import { ShardMapView } from "./map-view.js";
import { Membership, type MemberRecord } from "./membership.js";
import { ProjectionService } from "./projections/service.js";
import { Migrations } from "./migration.js";
import type { NodeOptions } from "./node-options.js";
import { OwnershipFence } from "./owner-fence.js";
import { peerDispatch } from "./peer-dispatch.js";
import { PinWatch } from "./pins.js";
import { RequestStats } from "./request-stats.js";
import type { ShardMap } from "./placement.js";
import { Router } from "./router.js";
import { defaultTenant, shardIn, type TenantOf } from "../src/routing/actor-shard.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { retryStartup } from "./startup.js";
import { NatsTransport } from "./transport.js";

/** The parts of one node, each owning its own state; `ShoalNode` is the facade over them. */
export interface NodeParts {
  readonly nodeId: string;
  readonly cluster: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly timing: ClusterTiming;
  readonly host: ActorHost;
  readonly view: ShardMapView;
  readonly membership: Membership;
  readonly election: LeaderElection;
  readonly manager: ShardManager;
  readonly events: ClusterEvents;
  readonly router: Router;
  readonly migrations: Migrations;
  readonly transport: NatsTransport;
  /** Starts the keep-alive actors and singletons of the shards this node gains. */
  readonly keepAlive: KeepAliveStarter;
  /** Cluster events this node listens to (the rebalance steps' ends). */
  readonly eventsSub: Subscription;
  /** The partitions of projections the map gives this node (undefined: the node runs none). */
  readonly projections: ProjectionService | undefined;
  /** The tenant of an actor id, by its type's definition (for tenants with shards of their own). */
  readonly tenantOf: TenantOf;
  /** The tenant pins wanted now (the pins bucket, watched). */
  readonly pins: PinWatch;
  /** The cluster's load per shard, node and hot actor, from every member's reports (fed only on the leader). */
  readonly load: ClusterLoad;
  /** Reports this node's load, and on the leader collects the reports and publishes `hot` events. */
  readonly loads: LoadService;
  /** What this node's ingress handled lately: rates, errors and latency per type. */
  readonly requests: RequestStats;
}

/**
 * Builds a node and joins it to its cluster, in the order the parts need: the buckets, the
 * event store and runtime, the transport, router, map view, fence and migrations; then it
 * serves peers, watches the map, heartbeats, starts the manager and stands for election. The
 * ingress starts last, when the first map is applied: before that, the router would have no
 * owner to send an ask to.
 */
export async function assemble(opts: NodeOptions, isStopping: () => boolean): Promise<NodeParts> {
  const cluster = checkClusterName(opts.cluster);
  const { nodeId, nc } = opts;
  const roles = opts.roles === undefined || opts.roles.length === 0 ? undefined : checkRoles(opts.roles, "node roles");
  const timing = resolveTiming(opts);
  const loadOptions = resolveLoadOptions(opts.load, timing.heartbeatInterval);
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? silentLogger;
  const kv = opts.kv ?? new NatsKvProvider(nc, { replicas: opts.replicas });
  const names = clusterBuckets(cluster);
  const retry = <T>(what: string, op: () => Promise<T>) => retryStartup(what, op, { clock, log, deadlineMs: opts.startupTimeout });
  // One after the other: on a fresh JetStream cluster, several nodes creating several
  // replicated buckets at once is what makes creation time out.
  const membersKv = await retry("members bucket", () => kv.bucket(names.members, { ttl: timing.memberTtl, replicas: opts.replicas }));
  const leaderKv = await retry("leader bucket", () => kv.bucket(names.leader, { ttl: timing.leaderTtl, replicas: opts.replicas }));
  const mapKv = await retry("map bucket", () => kv.bucket(names.map, { ttl: 0, replicas: opts.replicas }));
  const pinsKv = await retry("pins bucket", () => kv.bucket(names.pins, { ttl: 0, replicas: opts.replicas }));
  const maps = new ShardMapStore(mapKv);
  await retry("shard count", () => maps.ensureShardCount(timing.shardCount));
  // Only a cluster with keep-alive or pre-warmed types (singletons aside: they are started by type) needs their bucket.
  const keptAlive = opts.actors.some((d) => (d.keepAlive === true && d.singleton !== true) || d.prewarm === true);
  const keepAliveKv = keptAlive ? await retry("keep-alive bucket", () => kv.bucket(names.keepAlive, { ttl: 0, replicas: opts.replicas })) : undefined;

  // Parts made below call each other back; these are bound once all exist.
  let fence: OwnershipFence | undefined;
  let migrations: Migrations | undefined;
  let membership: Membership | undefined;
  let keepAlive: KeepAliveStarter | undefined;
  let view: ShardMapView | undefined;
  const tenantOf = tenantsOf(opts.actors);
  // An actor's shard on the current map (its tenant's own, or its type's group's); the plain hash before a map.
  const shardOfActor = (type: string, id: string) => {
    const map = view?.current();
    return map === undefined ? shardOf(type, id, timing.shardCount) : shardIn(map, type, id, tenantOf);
  };
  const onTellFailed = tellFailed(log, opts);
  // A cluster whose journal existed must find it again: never start over from an empty stream.
  const journalExisted = await retry("journal record", () => maps.journalRecorded());
  // Counted from the ingress's first answer, which comes after the host below exists.
  const requests: RequestStats = new RequestStats({ clock, hosts: (type): boolean => host.runtime.hosts(type) });
  const host = await retry("event store", () =>
    ActorHost.start({
      createStream: !journalExisted,
      nc,
      cluster,
      nodeId,
      actors: opts.actors,
      replicas: opts.replicas,
      logger: log,
      runtime: {
        clock,
        partitionOf: shardOfActor,
        fence: (key) => fence!.check(key.type, key.id),
        unknownType: (type) => notHostedHere(type, nodeId, membership!.records()),
        onTellFailed,
        onMailboxFull: opts.hooks?.onMailboxFull,
        senderOrder: opts.senderOrder,
        keepAlive: { activated: (key) => keepAlive?.activated(key), stopped: (key) => keepAlive?.stopped(key) },
        load: { halfLife: loadOptions.halfLife, topActors: loadOptions.topN },
      },
      wrapStore: opts.hooks?.wrapStore,
      onAnswered: requests.hook(opts.hooks?.onAnswered),
    }),
  );
  if (!journalExisted) await retry("journal record", () => maps.recordJournal(streamName(cluster)));

  const events = new ClusterEvents(nc, cluster, nodeId, clock, log);
  const projections =
    (opts.projections ?? []).length === 0
      ? undefined
      : await retry("projections", () =>
          ProjectionService.open({
            nc,
            cluster,
            nodeId,
            replicas: host.replicas,
            projections: opts.projections!,
            clock,
            log,
            publish: (body) => events.publish(body),
          }),
        );
  const transport = new NatsTransport(nc, cluster, nodeId, log, clock);
  // A peer reports only how many of ours failed there (and logged why), not which.
  transport.onTellsFailed((peer, n) => {
    log.debug({ peer, failed: n }, "tells failed at a peer");
    opts.hooks?.onTellsFailed?.("AT_PEER", n);
  });
  view = new ShardMapView(maps, clock, log, (before, next) => {
    logMap(log, nodeId, before, next);
    migrations!.onMap(before, next);
    // The reminders of the shards the map gives this node are fired here (loaded when gained).
    const owned: number[] = [];
    for (const [s, o] of next.owners.entries()) if (o === nodeId) owned.push(s);
    host.runtime.reminders.own(owned).catch((err: unknown) => log.warn({ err }, "reminders of gained shards failed to load"));
    projections?.own(next);
  });
  const self: MemberRecord = { id: nodeId, weight: timing.weight, state: "active", startedAt: clock.now(), types: [...host.runtime.types].sort() };
  if (opts.meta !== undefined) self.meta = opts.meta;
  if (roles !== undefined) self.roles = roles;
  const boundRoles = new Map(opts.actors.flatMap((d) => (d.roles === undefined ? [] : [[d.type, [...d.roles].sort()] as const])));
  if (boundRoles.size > 0) self.typeRoles = Object.fromEntries(boundRoles);
  membership = new Membership({ kv: membersKv, clock, self, heartbeatInterval: timing.heartbeatInterval, memberTtl: timing.memberTtl, logger: log });
  const router = new Router({
    nodeId,
    local: host.runtime,
    transport,
    maps: view,
    clock,
    onSlow: (what) => log.info({ what }, "router waited"),
    onTellFailed,
    rolesOf: (type) => boundRoles.get(type),
    tenantOf,
    tellBound: opts.tellBound,
    tellOnFull: opts.tellOnFull,
    onTellHeld: opts.hooks?.onTellHeld,
  });
  // Turns' asks and messages to other actors go wherever those actors live.
  host.runtime.connect(router);
  const rolesOf = (type: string) => boundRoles.get(type);
  fence = new OwnershipFence(nodeId, membership, view, log, { of: rolesOf, mine: roles ?? [] }, tenantOf);
  keepAlive = new KeepAliveStarter({
    runtime: host.runtime,
    records: keepAliveKv === undefined ? undefined : new KeepAliveRecords(keepAliveKv, clock, log),
    singletons: opts.actors.filter((d) => d.singleton === true).map((d) => d.type),
    shardOf: shardOfActor,
    owns: (shard) => view.current()?.owners[shard] === nodeId,
    isStale: () => fence!.lapsed(),
    clock,
    log,
    checkEvery: timing.heartbeatInterval,
  });
  const starter = keepAlive;
  const election = new LeaderElection({ kv: leaderKv, nodeId, clock, leaderTtl: timing.leaderTtl, renewInterval: timing.leaderTtl / 3, logger: log });
  let pinWatch: PinWatch | undefined;
  let loadService: LoadService | undefined;
  const manager = new ShardManager({
    election,
    membership,
    maps,
    events,
    clock,
    shardCount: timing.shardCount,
    debounce: timing.rebalanceDebounce,
    maxHandoffsPerMap: opts.maxHandoffsPerMap,
    stepTimeout: opts.rebalanceStepTimeout,
    loadBalance: opts.loadBalance,
    pins: () => pinWatch?.list() ?? [],
    shardLoad: () => loadService?.load.turnRates() ?? new Map(),
    logger: log,
  });
  migrations = new Migrations({
    nodeId,
    runtime: host.runtime,
    store: host.store,
    transport,
    maps: view,
    events,
    clock,
    isAlive: (id) => membership.records().some((r) => r.id === id),
    handoffTimeout: opts.handoffTimeout,
    parallelism: opts.migrationParallelism,
    logger: log,
    onEnded: opts.hooks?.onMigration,
    isStale: () => fence!.lapsed(),
    onGained: (shards) => starter.gained(shards),
    tenantOf,
  });
  const moving = migrations;
  const loads = new LoadService({
    nc,
    cluster,
    nodeId,
    clock,
    log,
    meter: host.runtime.meter,
    options: loadOptions,
    owns: (shard) => view.current()?.owners[shard] === nodeId,
    election,
    membership,
    publish: (body) => events.publish(body),
  });
  loadService = loads;

  transport.serve(peerDispatch(router, moving));
  await view.start(timing.heartbeatInterval);
  membership.onChange((c) => {
    for (const id of c.left) moving.sourceGone(id);
  });
  // The leader publishes a rebalance in steps; each step's handoffs report their end here.
  const eventsSub = ClusterEvents.subscribe(nc, cluster, (e) => {
    if (e.type === "migration" && typeof e.mapVersion === "number") manager.migrationEnded(e.mapVersion);
  });
  await retry("membership", () => membership.start());
  watchReconnects(nc, () => {
    // The link is back: heartbeat and re-confirm now rather than after the timeouts of what
    // was sent before it dropped (a silent link heals into a reconnect).
    membership.beatNow();
    fence!.reconnected();
  });
  pinWatch = new PinWatch(pinsKv, log, () => manager.pinsChanged());
  await retry("pins", () => pinWatch!.start());
  manager.start(); // before the election, so a node that wins at once is heard
  loads.start(); // likewise
  await retry("election", () => election.start());
  // A member now: the shards its maps gave it so far get their keep-alive actors and singletons.
  starter.start();
  void view.mapped.then(() => {
    if (isStopping()) return;
    try {
      host.serve(router);
    } catch (err) {
      log.error({ err }, "could not serve the ingress");
    }
  });
  log.info({ ...timing, types: self.types }, "node joined");
  return {
    nodeId,
    cluster,
    clock,
    log,
    timing,
    host,
    view,
    membership,
    election,
    manager,
    events,
    router,
    migrations,
    transport,
    keepAlive: starter,
    eventsSub,
    projections,
    tenantOf,
    pins: pinWatch,
    load: loads.load,
    loads,
    requests,
  };
}

/** The tenant of `(type, id)` by the type's `tenant` function, or the default when it has none, throws or returns no string. */
function tenantsOf(actors: NodeOptions["actors"]): TenantOf {
  const fns = new Map(actors.flatMap((d) => (d.tenant === undefined ? [] : [[d.type, d.tenant] as const])));
  if (fns.size === 0) return (_type, id) => defaultTenant(id);
  return (type, id) => {
    const f = fns.get(type);
    if (f === undefined) return defaultTenant(id);
    try {
      const t = f(id);
      return typeof t === "string" ? t : defaultTenant(id);
    } catch {
      return defaultTenant(id);
    }
  };
}

/** Calls `fn` each time the connection reconnects, until it closes. */
function watchReconnects(nc: NatsConnection, fn: () => void): void {
  void (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") fn();
  })().catch(() => undefined);
}

/** Where a tell that failed on this node is counted (it has no caller to tell). */
function tellFailed(log: Logger, opts: NodeOptions): (err: unknown) => void {
  return (err) => {
    const code = ShoalError.is(err) ? err.code : ErrorCode.INTERNAL;
    log.debug({ err, code }, "a tell failed");
    opts.hooks?.onTellsFailed?.(code, 1);
  };
}

/** One info line per map: its version and how many shards it moves, this node's among them. */
function logMap(log: Logger, nodeId: string, before: ShardMap | undefined, next: ShardMap): void {
  let moves = 0;
  let gained = 0;
  let lost = 0;
  let owned = 0;
  next.owners.forEach((owner, shard) => {
    const was = before?.owners[shard];
    if (owner === nodeId) owned++;
    if (before === undefined || was === owner) return;
    moves++;
    if (owner === nodeId) gained++;
    if (was === nodeId) lost++;
  });
  log.info({ version: next.version, epoch: next.epoch, moves, gained, lost, owned }, "shard map applied");
}
