import type { Clock } from "../src/clock.js";
import { type Logger, silentLogger } from "../src/log.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { EventStore } from "../src/store/types.js";
import type { ClusterEvents } from "./events.js";
import { MigrationDestination } from "./migration-destination.js";
import { MigrationSource } from "./migration-source.js";
import type { ShardMap } from "./placement.js";
import { defaultTenant, groupOf, type TenantOf } from "../src/routing/actor-shard.js";
import type { TenantPin } from "../src/routing/shard-map.js";
import type { MapView } from "./router.js";
import type { Transport } from "./transport.js";
import type { ForwardedAsk, HandoffBatch, TailEnd } from "./wire.js";

/** What live migration works with on one node; the optional sizes and timeouts have defaults. */
export interface MigrationOptions {
  nodeId: string;
  runtime: Runtime;
  store: EventStore;
  transport: Transport;
  maps: MapView;
  events: ClusterEvents;
  clock: Clock;
  /** Is this node a live member (its moves are planned handoffs, not failovers)? */
  isAlive: (node: string) => boolean;
  /** Longest a handoff request may take; also how long a destination holds a shard for its source. */
  handoffTimeout?: number;
  /** Shards handed off at once. */
  parallelism?: number;
  /** Bytes of state per handoff message (NATS max_payload is 1 MiB by default). */
  batchBytes?: number;
  logger?: Logger;
  /** Called as each shard move ends here (for metrics); see {@link MigrationEnded}. */
  onEnded?: MigrationEnded;
  /** True while this node's lease has lapsed unconfirmed: its shards are let go without handoffs. */
  isStale?: () => boolean;
  /**
   * Told when this node starts serving shards it did not serve: those a map gives it with no live
   * member to hand them over (its first map, a crashed or departed owner), and each shard received
   * by a live handoff once its hold ends (tail in, timeout, source gone). Not for a hold ended
   * because the node stops or the shard moved on. Must not throw.
   */
  onGained?: (shards: readonly number[]) => void;
  /** The tenant of an actor id (default: the id's prefix before `/`): who moves when a tenant gets a shard of its own. */
  tenantOf?: TenantOf;
}

/**
 * One shard move ended on this node. Source outcomes: `completed` (ms = the pause), `failed`,
 * `no_owner`, `stale` (let go without a handoff: this node's lease had lapsed); destination: `completed` (tail in), `timeout`, `superseded` (moved on before
 * its tail), `stopped` (ms = how long the shard was held).
 */
export type MigrationEnded = (role: "source" | "destination", outcome: string, ms: number) => void;

/**
 * Live migration, per moved shard: reacts to each new map by starting the sending side
 * ({@link MigrationSource}: pause, capture, hand off, forward the tail) for every shard this
 * node loses and the receiving side ({@link MigrationDestination}: hold, adopt, queue the tail)
 * for every shard it gains from a live member, and takes a peer's handoff requests to the
 * latter. A shard whose previous owner is gone is not held: its actors load from the store.
 */
export class Migrations {
  private readonly outgoing: MigrationSource;
  private readonly incoming: MigrationDestination;

  constructor(private readonly opts: MigrationOptions) {
    const handoffTimeout = opts.handoffTimeout ?? 10_000;
    const log = opts.logger ?? silentLogger;
    const { nodeId, runtime, store, transport, maps, events, clock } = opts;
    const ended = (role: "source" | "destination") => (outcome: string, ms: number) => {
      try {
        opts.onEnded?.(role, outcome, ms);
      } catch (err) {
        log.warn({ err }, "onEnded hook threw");
      }
    };
    this.outgoing = new MigrationSource({
      nodeId,
      runtime,
      transport,
      events,
      clock,
      handoffTimeout,
      parallelism: opts.parallelism ?? 8,
      batchBytes: opts.batchBytes ?? 256 * 1024,
      log,
      ended: ended("source"),
      isStale: opts.isStale,
    });
    const gained = opts.onGained;
    this.incoming = new MigrationDestination({
      runtime,
      store,
      maps,
      clock,
      handoffTimeout,
      log,
      ended: ended("destination"),
      served: gained === undefined ? undefined : (shard) => gained([shard]),
    });
  }

  /** Shards being sent or received right now. */
  get inFlight(): number {
    return this.outgoing.inFlight + this.incoming.size;
  }

  /** Resolves when no shard is being sent and every tail-end has been answered (received shards end by their own timers). */
  whenIdle(): Promise<void> {
    return this.outgoing.whenIdle();
  }

  /**
   * Called synchronously as each new map is applied. Every shard this node loses is paused right
   * here, before any further message is dispatched: what is queued or arrives from now on joins
   * its tail. The handoffs themselves then run with bounded parallelism.
   */
  onMap(prev: ShardMap | undefined, next: ShardMap): void {
    const me = this.opts.nodeId;
    const gained: number[] = [];
    const arriving = prev === undefined ? [] : newPins(prev, next);
    for (const pin of arriving) this.tenantArrives(pin, prev!, next, gained);
    const skip = new Set(arriving.map((p) => p.shard));
    next.owners.forEach((owner, shard) => {
      if (skip.has(shard)) return;
      const before = prev?.owners[shard] ?? null;
      if (before === me && owner !== me) {
        // Still receiving it (it moved on before its tail was in)? Take over the hold: the tail
        // we got goes first, then what was held, then what arrives while we hand off.
        this.outgoing.start(shard, owner, next, this.incoming.take(shard, "superseded"));
      } else if (before !== me && owner === me && before !== null && this.opts.isAlive(before)) {
        this.incoming.hold(shard, before);
      } else if (before !== me && owner === me) {
        gained.push(shard);
      }
    });
    if (gained.length > 0) this.opts.onGained?.(gained);
  }

  /**
   * A tenant gets a shard of its own (`shoal pin set`): its actors leave their hashed shards on
   * every node for `pin.shard`. Each node files its activations of the tenant under the new shard;
   * the new shard's owner holds it for a tail from every other member that owned shards of the
   * type's group; each of those pauses the tenant's actors it has (in-flight turns finish, new
   * messages wait), hands them over and forwards what waited, like a shard's source.
   */
  private tenantArrives(pin: TenantPin, prev: ShardMap, next: ShardMap, gained: number[]): void {
    const { nodeId: me, runtime } = this.opts;
    const tenantOf = this.opts.tenantOf ?? ((_t: string, id: string) => defaultTenant(id));
    const selector = (type: string, id: string) => type === pin.type && tenantOf(type, id) === pin.tenant;
    runtime.repartition(selector);
    const owner = next.owners[pin.shard] ?? null;
    const group = groupOf(prev, pin.type);
    const base = group?.base ?? 0;
    const servedType = new Set(prev.owners.slice(base, base + (group?.size ?? prev.shardCount)).filter((o): o is string => o !== null));
    if (owner === me) {
      const sources = [...servedType].filter((n) => n !== me && this.opts.isAlive(n));
      if (sources.length === 0) gained.push(pin.shard);
      else this.incoming.hold(pin.shard, sources);
    } else if (servedType.has(me)) {
      this.outgoing.startSelected(pin.shard, owner, next, runtime.holdSelected(selector));
    }
  }

  /** Phase 1 at the destination: adopt each actor whose version the event store confirms. */
  onHandoff(req: HandoffBatch): Promise<{ adopted: number; fromStore: number }> {
    return this.incoming.onHandoff(req);
  }

  /** Phase 2 at the destination: a tail message is queued (in arrival order) behind the hold. */
  onTailAsk(req: ForwardedAsk): Promise<unknown> {
    return this.incoming.onTailAsk(req);
  }

  /** The source has sent the whole tail: run it, then what was held. */
  onTailEnd(req: TailEnd): Promise<{ tail: number }> {
    return this.incoming.onTailEnd(req);
  }

  /**
   * A member left (crashed, or its TTL ran out): no tail will come from it, so stop holding the
   * shards it was to hand over; their actors load from the event store instead.
   */
  sourceGone(node: string): void {
    this.incoming.sourceGone(node);
  }

  /** Ends every hold (node stopping). */
  stop(): void {
    this.incoming.stop();
  }
}

/** The pins of `next` that `prev` does not have: tenants given a shard of their own by this map. */
function newPins(prev: ShardMap, next: ShardMap): TenantPin[] {
  if (next.pins === undefined || next.pins.length === (prev.pins?.length ?? 0)) return [];
  const had = new Set((prev.pins ?? []).map((p) => p.shard));
  return next.pins.filter((p) => !had.has(p.shard));
}
