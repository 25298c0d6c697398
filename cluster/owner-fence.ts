import { ActorMovedError, UnavailableError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import type { ShardMapView } from "./map-view.js";
import type { Membership } from "./membership.js";
import { groupOf, shardIn, type TenantOf } from "../src/routing/actor-shard.js";

/**
 * The fence of last resort, checked by the runtime before every turn and before every append:
 * this node acts for an actor only while its membership lease holds (a node paused past
 * `memberTtl` may have been declared gone and its shards given away) and its map says it owns
 * the actor's shard. After a lapse it re-confirms its membership and re-reads the map before it
 * acts again. Behind it, the event store's expected-version check still rejects any write that
 * races.
 */
export class OwnershipFence {
  private stale = false;
  /** Lease lapses already answered by a map re-read. */
  private lapsesSeen = 0;
  private refreshing: Promise<void> | undefined;
  /** Counts refreshes started, so one made stale by a reconnect does not clear its successor. */
  private generation = 0;

  constructor(
    private readonly nodeId: string,
    private readonly membership: Membership,
    private readonly view: ShardMapView,
    private readonly log: Logger,
    /** The roles a locally defined type is bound to (undefined: none), and this node's roles. */
    private readonly roles: { of: (type: string) => readonly string[] | undefined; mine: readonly string[] } = { of: () => undefined, mine: [] },
    /** The tenant of an actor id (for tenants with shards of their own). */
    private readonly tenantOf?: TenantOf,
  ) {}

  /** Whether this node's lease has lapsed and it has not re-confirmed since (it must not act as an owner). */
  lapsed(): boolean {
    const m = this.membership;
    return this.stale || !m.holdsLease() || m.lapses !== this.lapsesSeen;
  }

  /**
   * Throws UNAVAILABLE (lease lapsed, no map yet, a role-bound type the map has no group for
   * yet or whose group's roles this node lacks) or ACTOR_MOVED (another node owns the shard).
   */
  check(type: string, id: string): void {
    if (this.lapsed()) {
      this.refreshAfterLapse();
      throw new UnavailableError("this node's membership lease lapsed; it re-confirms before acting again");
    }
    const map = this.view.current();
    if (map === undefined) throw new UnavailableError("this node has no shard map yet");
    if (this.roles.of(type) !== undefined) {
      const g = groupOf(map, type);
      if (g === undefined) throw new UnavailableError(`actor type ${type} is bound to roles and map v${map.version} has no group for it yet`);
      if (!g.roles.some((r) => this.roles.mine.includes(r)))
        throw new UnavailableError(`actor type ${type} runs on roles ${g.roles.join(", ")}, which this node lacks`);
    }
    const owner = map.owners[shardIn(map, type, id, this.tenantOf)] ?? null;
    if (owner !== this.nodeId) throw new ActorMovedError(`shard moved to ${owner ?? "nobody yet"}`, { details: { owner, mapVersion: map.version } });
  }

  /**
   * The connection to NATS came back: the server may have dropped the old one for silence (a
   * pause, a silent link), and the crash detector declares a node gone as soon as its connection
   * is gone — possibly before this node's own lease runs out. So whatever the lease says, act
   * again only after a re-confirmation and a map re-read (one KV write and two reads); requests
   * on the new connection meanwhile get UNAVAILABLE, which routers retry. A re-confirmation
   * still waiting may be waiting for a reply that went to the old connection: start a fresh one.
   */
  reconnected(): void {
    this.refreshing = undefined;
    this.refreshAfterLapse();
  }

  private refreshAfterLapse(): void {
    this.stale = true;
    if (this.refreshing !== undefined) return;
    const generation = ++this.generation;
    this.refreshing = (async () => {
      try {
        await this.membership.reconfirm();
        // Heard nothing while the lease lapsed, so the view swept live members too: restore it
        // before maps are judged by it (a shard handed back by a live member is held, not
        // taken as an orphan).
        await this.membership.refreshView();
        // Every lapse counted so far is answered by a map read that starts after it.
        const lapses = this.membership.lapses;
        await this.view.reread();
        this.lapsesSeen = lapses;
        this.stale = false;
        this.log.info("membership re-confirmed after a lapse; map re-read");
      } catch (err) {
        this.log.warn({ err }, "could not re-confirm membership yet");
      } finally {
        if (generation === this.generation) this.refreshing = undefined;
      }
    })();
  }
}
