import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { ActorType } from "../src/actor/calls.js";
import { checkClusterName } from "../src/actor/names.js";
import type { ActorHost } from "../src/host.js";
import { type ActorRef, type Caller, type CallOptions, makeRef, type RefFactory, type RefId, type TellOptions } from "../src/ref.js";
import { topicsOver } from "../src/topics/topics.js";
import type { Topics } from "../src/topics/types.js";
import { assemble, type NodeParts } from "./assemble.js";
import { watchForCrashes } from "./crash-watch.js";
import type { LeaderElection } from "./election.js";
import type { LoadService } from "./load-service.js";
import type { FailureDetector } from "./failure-detector.js";
import type { Membership } from "./membership.js";
import type { NodeOptions } from "./node-options.js";
import type { ShardMap } from "./placement.js";
import { adminSubject, statusSubject } from "../src/nats-names.js";
import { ActorMovedError, BadRequestError } from "../src/errors.js";
import { ownerIn } from "../src/routing/actor-shard.js";
import {
  adminAnswer,
  inspectHere,
  parseInspect,
  parseReplay,
  type ReplayRequest,
  type ReplayResult,
  replayActorAt,
  replayActorHere,
  replayProjection,
} from "./replay.js";
import type { NodeStatus } from "./status.js";
import type { PartitionStatus } from "./projections/service.js";

export type { NodeHooks, NodeOptions } from "./node-options.js";
export type { NodeStatus } from "./status.js";

/** The load fields of a status: this node's own, and the cluster's when it leads. */
function loadStatus(loads: LoadService): Pick<NodeStatus, "load" | "clusterLoad"> {
  const own = loads.nodeLoad();
  const cluster = loads.summary();
  return { ...(own === undefined ? {} : { load: own }), ...(cluster === undefined ? {} : { clusterLoad: cluster }) };
}

/**
 * One node of a Shoal cluster, in your process. It hosts its actor types, takes part in
 * membership and leader election (the leader plans where shards live), routes every call to
 * the node that owns the actor's shard, moves shards live when nodes join or leave, and serves
 * the ingress (`shoal.<cluster>.ask`) for clients outside the cluster.
 *
 * ```ts
 * const node = await ShoalNode.start({ nc, cluster: "bank", nodeId: "n1", actors: [account] });
 * await node.ref(account, "alice").ask({ deposit: { amount: 5, txn: "t-1" } });
 * await node.drain(); // hands its shards to the other nodes, then leaves
 * ```
 */
export class ShoalNode implements RefFactory, Caller {
  private stopped = false;
  private statusSub: Subscription | undefined;
  private adminSub: Subscription | undefined;
  private nc!: NatsConnection;
  private detector: FailureDetector | undefined;
  private parts!: NodeParts;
  /** Publishes on topics, wherever in the cluster their groups' brokers live (see {@link Topics}). */
  readonly topics: Topics = topicsOver(this);

  private constructor(
    /** This node's id. */
    readonly nodeId: string,
    /** The cluster's name. */
    readonly cluster: string,
  ) {}

  /**
   * Joins the cluster: creates its buckets and event stream if this is its first node, starts
   * heartbeating and stands for election. Resolves once joined; {@link mapped} once the node
   * holds a shard map (it serves the ingress from then on). Retries while NATS is not ready
   * (`startupTimeout`), then rejects with the last error. Rejects at once with BAD_REQUEST for an
   * invalid cluster name or a `shardCount` other than the cluster's, or a RangeError for
   * inconsistent timing (e.g. `memberTtl` under twice `heartbeatInterval`).
   */
  static async start(opts: NodeOptions): Promise<ShoalNode> {
    const node = new ShoalNode(opts.nodeId, checkClusterName(opts.cluster));
    // Before the membership record exists: a member whose status subject had no subscriber
    // would look crashed to the others' probes.
    node.statusSub = opts.nc.subscribe(statusSubject(node.cluster, node.nodeId), {
      callback: (err, msg) => {
        if (err === null) node.answerStatus(msg);
      },
    });
    try {
      node.parts = await assemble(opts, () => node.stopped);
    } catch (err) {
      node.statusSub.unsubscribe();
      throw err;
    }
    node.detector = watchForCrashes(opts.nc, node.parts);
    node.nc = opts.nc;
    node.adminSub = opts.nc.subscribe(adminSubject(node.cluster, node.nodeId), {
      callback: (err, msg) => {
        if (err === null) void node.answerAdmin(msg);
      },
    });
    return node;
  }

  /** An operator's request on this node's admin subject: a replay of an actor this node owns, or of a projection. */
  private async answerAdmin(msg: Msg): Promise<void> {
    try {
      const body = JSON.parse(new TextDecoder().decode(msg.data)) as unknown;
      const inspect = parseInspect(body);
      if (inspect !== undefined) {
        this.checkOwner(inspect);
        msg.respond(adminAnswer(await inspectHere({ nodeId: this.nodeId, runtime: this.parts.host.runtime }, inspect)));
        return;
      }
      msg.respond(adminAnswer(await this.replay(parseReplay(body), false)));
    } catch (err) {
      msg.respond(adminAnswer(undefined, err instanceof SyntaxError ? new BadRequestError("an admin request is JSON") : err));
    }
  }

  /** The projection partitions this node runs and the dead letters waiting per projection (empty without projections). */
  projections(): {
    /** Each partition running here (or ended here and not yet started again). */
    partitions: PartitionStatus[];
    /** Dead letters waiting, by projection. */
    deadLetters: ReadonlyMap<string, number>;
  } {
    const p = this.parts.projections;
    return { partitions: p?.status() ?? [], deadLetters: p?.deadLetterCounts() ?? new Map() };
  }

  /** Throws ACTOR_MOVED unless the map gives this node the actor's shard. */
  private checkOwner(actor: { type: string; id: string }): void {
    const map = this.parts.view.current();
    const owner = map === undefined ? undefined : ownerIn(map, actor.type, actor.id, this.parts.tenantOf);
    if (owner !== this.nodeId) throw new ActorMovedError(`${actor.type}/${actor.id} is not owned by ${this.nodeId}`, { details: { owner: owner ?? null } });
  }

  /**
   * An operator's replay (see `replay.ts`): of an actor, on its owner (this node, or the owner
   * by the map when `forward`); of a projection, through its bucket.
   */
  async replay(req: ReplayRequest, forward = true): Promise<ReplayResult> {
    if ("projection" in req) return replayProjection(this.nc, this.cluster, req);
    const map = this.parts.view.current();
    const owner = map === undefined ? undefined : ownerIn(map, req.actor.type, req.actor.id, this.parts.tenantOf);
    const { host } = this.parts;
    if (owner === this.nodeId)
      return replayActorHere({ nc: this.nc, cluster: this.cluster, nodeId: this.nodeId, runtime: host.runtime, store: host.store }, req);
    if (!forward || map === undefined)
      throw new ActorMovedError(`${req.actor.type}/${req.actor.id} is not owned by ${this.nodeId}`, { details: { owner: owner ?? null } });
    return replayActorAt(this.nc, this.cluster, map, req);
  }

  /** A probe (any body) is answered with nothing; a status request (empty) with the status, once joined. */
  private answerStatus(msg: Msg): void {
    if (msg.data.length > 0) msg.respond();
    else if (this.parts !== undefined) msg.respond(new TextEncoder().encode(JSON.stringify(this.status())));
  }

  /** A typed reference to actor `id` of the given type, wherever in the cluster it lives (a singleton's definition needs no id). */
  ref<A extends ActorType>(type: A, ...id: RefId<A>): ActorRef<A> {
    return makeRef(this, type, id[0]);
  }

  /** Untyped ask (the ingress's path); use {@link ref}. @internal */
  ask<R = unknown>(type: string, id: string, msg: unknown, opts?: CallOptions): Promise<R> {
    return this.parts.router.ask(type, id, msg, opts) as Promise<R>;
  }

  /** Untyped send; use {@link ref}. @internal */
  send(type: string, id: string, msg: unknown, opts?: CallOptions): Promise<void> {
    return this.parts.router.send(type, id, msg, opts);
  }

  /** Untyped tell (bounded per lane: `tellBound`); use {@link ref}. @internal */
  tell(type: string, id: string, msg: unknown, opts?: TellOptions): Promise<void> {
    return this.parts.router.tell(type, id, msg, opts);
  }

  /** Resolves once this node holds a shard map (at once when it joined a running cluster). */
  get mapped(): Promise<void> {
    return this.parts.view.mapped;
  }

  /**
   * The map this node routes by (undefined before the first).
   * @internal For the HTTP server, metrics and tests; users have {@link ownedShards} and {@link status}.
   */
  get map(): ShardMap | undefined {
    return this.parts.view.current();
  }

  /** Shards this node owns in its current map. */
  ownedShards(): number[] {
    const out: number[] = [];
    for (const [i, o] of (this.map?.owners ?? []).entries()) if (o === this.nodeId) out.push(i);
    return out;
  }

  /** True once {@link stop} (or the end of {@link drain}) has begun. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** The store, runtime and ingress of this node. @internal */
  get host(): ActorHost {
    return this.parts.host;
  }

  /** This node's membership and its view of the others. @internal */
  get membership(): Membership {
    return this.parts.membership;
  }

  /** This node's part in leader election. @internal */
  get election(): LeaderElection {
    return this.parts.election;
  }

  /** This node's load reports, and on the leader the cluster's load. @internal For metrics and tests. */
  get loads(): LoadService {
    return this.parts.loads;
  }

  /** What `shoal status` shows of this node (also answered on its status subject). */
  status(): NodeStatus {
    const { election, membership, host, migrations, router, keepAlive, loads, requests } = this.parts;
    const leader = election.leader;
    return {
      node: this.nodeId,
      cluster: this.cluster,
      state: membership.self.state,
      leader: leader?.id ?? null,
      epoch: leader?.epoch ?? null,
      isLeader: election.isLeader(),
      mapVersion: this.map?.version ?? null,
      mapShards: this.map?.owners.length ?? null,
      mapEpoch: this.map?.epoch ?? null,
      shards: this.ownedShards().length,
      actors: host.runtime.stats().activeActors,
      migrations: migrations.inFlight,
      forwarded: router.forwarded,
      types: host.runtime.types.sort(),
      singletons: keepAlive.singletons(),
      members: membership.records(),
      ...loadStatus(loads),
      requests: requests.summary(),
    };
  }

  /**
   * Graceful drain: marks this node draining so the leader moves every shard away, waits until
   * it owns nothing and has handed everything off (at most `timeoutMs`), then leaves.
   * Resolves true when it drained completely, false when the time ran out first.
   */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const { clock, log, membership, migrations, view } = this.parts;
    const deadline = clock.now() + timeoutMs;
    await membership.setState("draining");
    log.info("draining");
    const empty = await view.waitFor(() => this.ownedShards().length === 0, timeoutMs);
    const left = Math.max(0, deadline - clock.now());
    const idle = empty && (await Promise.race([migrations.whenIdle().then(() => true), this.sleep(left).then(() => false)]));
    if (!idle) log.warn({ owned: this.ownedShards().length, migrations: migrations.inFlight }, "drain timed out");
    await this.stop();
    return idle;
  }

  /** Leaves gracefully: resigns leadership and membership, answers what it owes, then stops the host. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const { manager, election, membership, events, migrations, transport, host, view, eventsSub, keepAlive, projections, pins, log } = this.parts;
    this.detector?.stop();
    pins.stop();
    keepAlive.stop();
    this.parts.loads.stop();
    // Each partition commits what it applied; its next owner claims it from there.
    await projections?.stop();
    view.leave();
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
    await Promise.all([host.ingress?.stop(), transport.stop()]);
    view.stopWatching();
    migrations.stop();
    await this.statusSub?.drain().catch(() => undefined);
    await this.adminSub?.drain().catch(() => undefined);
    await eventsSub.drain().catch(() => undefined);
    await host.stop();
    transport.close();
    view.stop();
    log.info("node left");
  }

  /** Stops like {@link stop} (no drain), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.parts.clock.setTimeout(resolve, ms));
  }
}
