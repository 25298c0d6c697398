import type { Clock } from "../src/clock.js";
import { ActorMovedError, ErrorCode, ShoalError, TimeoutError, UnavailableError } from "../src/errors.js";
import type { Asker } from "../src/ingress/ingress.js";
import type { ShardMap } from "./placement.js";
import { shardOf } from "./shard-hash.js";
import type { Transport } from "./transport.js";
import type { ForwardedAsk } from "./wire.js";

/** The node's view of the shard map, and a way to wait for it to change. */
export interface MapView {
  current(): ShardMap | undefined;
  /** Resolves true once `until(current())` holds, false when `timeoutMs` passes first. */
  waitFor(until: (m: ShardMap | undefined) => boolean, timeoutMs: number): Promise<boolean>;
}

export interface RouterOptions {
  nodeId: string;
  /** This node's actors (the runtime). */
  local: Asker;
  transport: Transport;
  maps: MapView;
  clock: Clock;
  /** Default ask timeout (ms). */
  askTimeout?: number;
  /** Most times one message is forwarded between nodes before ACTOR_MOVED. */
  maxHops?: number;
  /** Told when a message waited unusually long inside the router (for logs). */
  onSlow?: (what: string) => void;
}

/** Errors after which nothing was applied and the map may have moved on: wait for it, retry. */
const retryable = new Set<string>([ErrorCode.ACTOR_MOVED, ErrorCode.UNAVAILABLE, ErrorCode.CONFLICT]);

const nothing = (): void => undefined;

/** Longest wait for a newer map before retrying anyway (a peer may have had the stale view). */
const RETRY_WAIT_MS = 500;

/**
 * Sends an ask to the node owning its actor's shard: locally without NATS or encoding, else as
 * a forwarded ask. A move costs the caller nothing but time: when the owner refuses or is gone
 * it waits for a newer map and retries, within the caller's deadline.
 *
 * Per-sender order: messages for one shard from this router travel in a lane. While messages
 * are in flight to one owner, a message for a new owner waits until they have settled, so a
 * later message never overtakes an earlier one across a move (the old owner forwards its
 * stragglers; the new owner holds direct messages until the forwarded tail is in).
 */
export class Router implements Asker {
  private readonly lanes = new Map<number, Lane>();
  private readonly askTimeout: number;
  private readonly maxHops: number;

  constructor(private readonly opts: RouterOptions) {
    this.askTimeout = opts.askTimeout ?? 10_000;
    this.maxHops = opts.maxHops ?? 3;
  }

  ask(type: string, id: string, msg: unknown, opts?: { timeout?: number }): Promise<unknown> {
    return this.route({ type, id, msg, deadline: this.opts.clock.now() + (opts?.timeout ?? this.askTimeout), hops: 0, minVersion: 0, laned: true, discard: false });
  }

  /**
   * A message whose reply the caller does not want. It is routed, ordered and retried exactly
   * like an ask — a tell is never lost to a move — but the owner sends back only that the turn
   * is done. Resolves then; rejects with the typed error if it could not be delivered in time.
   */
  tell(type: string, id: string, msg: unknown, opts?: { timeout?: number }): Promise<void> {
    return this.route({ type, id, msg, deadline: this.opts.clock.now() + (opts?.timeout ?? this.askTimeout), hops: 0, minVersion: 0, laned: true, discard: true }).then(nothing);
  }

  /**
   * An ask another node routed here: judged by a map at least as new as the sender's. It skips
   * the lanes: they order what starts on this node, and a forwarded ask may be the very message
   * this node's lane is waiting for (A forwards to B, B's newer map sends it back to A), so
   * waiting there would deadlock. Forwarded asks go on synchronously in arrival order, which
   * keeps the order they came in.
   */
  handleForwarded(req: ForwardedAsk): Promise<unknown> {
    const { type, id, msg } = req;
    return this.route({ type, id, msg, deadline: this.opts.clock.now() + req.timeoutMs, hops: req.hops + 1, minVersion: req.mapVersion, laned: false, discard: req.discard === true });
  }

  /**
   * Routes one message: sends it at once when nothing has to be waited for (no async frame on
   * that path), else waits in {@link loop} for what blocks it and tries again. A retryable
   * failure waits (bounded) for a newer map and goes round the loop too.
   */
  private route(m: Routed): Promise<unknown> {
    const sent = this.sendNow(m);
    return isBlocked(sent) ? this.loop(m) : sent;
  }

  /**
   * One routing decision, made now: the send (its promise — or a rejected one when the deadline
   * has passed or the hops are spent), or what has to be waited for first. The only place the
   * checks are made; the lane counts the send until it settles.
   */
  private sendNow(m: Routed): Promise<unknown> | Blocked {
    const { clock, maps, nodeId } = this.opts;
    const { type, id, minVersion } = m;
    const remaining = m.deadline - clock.now();
    if (remaining <= 0) return Promise.reject(new TimeoutError(`no owner of ${type} answered in time`, { details: { type } }));
    const map = maps.current();
    if (map === undefined || map.version < minVersion) return { kind: "map", have: map?.version };
    const shard = shardOf(type, id, map.shardCount);
    const owner = map.owners[shard] ?? null;
    if (owner === null) return { kind: "owner", map, shard };
    if (owner !== nodeId && m.hops > this.maxHops) {
      return Promise.reject(new ActorMovedError(`shard ${shard} is owned by ${owner}`, { details: { shard, owner, mapVersion: map.version } }));
    }
    const lane = m.laned ? this.lane(shard) : undefined;
    if (lane !== undefined && lane.outstanding > 0 && lane.target !== owner) return { kind: "lane", lane, shard, owner };
    const retry = (err: unknown) => this.retryAfter(err, map, m);
    if (lane === undefined) return this.attempt(owner, map, m, remaining).then(undefined, retry);
    lane.target = owner;
    lane.outstanding++;
    return this.attempt(owner, map, m, remaining).then(
      (reply) => {
        lane.done();
        return reply;
      },
      (err: unknown) => {
        lane.done();
        return retry(err);
      },
    );
  }

  /** One send to `owner`: this node's runtime, or a peer. Never throws: a failure is a rejected promise. */
  private attempt(owner: string, map: ShardMap, m: Routed, remaining: number): Promise<unknown> {
    try {
      if (owner === this.opts.nodeId) return this.opts.local.ask(m.type, m.id, m.msg, { timeout: remaining });
      const req: ForwardedAsk = { k: "ask", type: m.type, id: m.id, msg: m.msg, timeoutMs: Math.max(1, remaining - 100), mapVersion: map.version, hops: m.hops };
      if (m.discard) req.discard = true;
      return this.opts.transport.request(owner, req, remaining);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** After a failed send by `map`: nothing was applied if the error is retryable, so wait for a newer map and route again. */
  private async retryAfter(err: unknown, map: ShardMap, m: Routed): Promise<unknown> {
    if (!ShoalError.is(err) || !retryable.has(err.code)) throw err;
    const left = m.deadline - this.opts.clock.now();
    if (left <= 0) throw err;
    await this.opts.maps.waitFor((v) => v !== undefined && v.version > map.version, Math.min(left, RETRY_WAIT_MS));
    return this.loop(m);
  }

  /** Waits for whatever blocks the send, then decides again, until it is sent or the deadline passes. */
  private async loop(m: Routed): Promise<unknown> {
    const { clock, maps } = this.opts;
    const { type, id, minVersion } = m;
    for (;;) {
      const sent = this.sendNow(m);
      if (!isBlocked(sent)) return sent;
      const remaining = m.deadline - clock.now();
      if (sent.kind === "map") {
        this.opts.onSlow?.(`waiting for map v${minVersion} (have v${sent.have ?? "none"}) for ${type}/${id.slice(0, 40)}`);
        if (!(await maps.waitFor((v) => v !== undefined && v.version >= minVersion, remaining))) throw new UnavailableError("no shard map yet on this node");
      } else if (sent.kind === "owner") {
        // Mid-rebalance: wait (bounded) for a map that gives the shard an owner.
        const { map, shard } = sent;
        if (!(await maps.waitFor((v) => v !== undefined && v.version > map.version, remaining))) {
          throw new UnavailableError(`shard ${shard} has no owner`, { details: { shard } });
        }
      } else {
        const since = clock.now();
        await sent.lane.idle(clock, remaining);
        const waited = clock.now() - since;
        if (waited > 1000) this.opts.onSlow?.(`lane of shard ${sent.shard} busy toward ${sent.lane.target} for ${waited} ms (next owner ${sent.owner}, ${sent.lane.outstanding} outstanding)`);
      }
    }
  }

  private lane(shard: number): Lane {
    let lane = this.lanes.get(shard);
    if (lane === undefined) {
      lane = new Lane();
      this.lanes.set(shard, lane);
    }
    return lane;
  }
}

/** One message on its way: everything the routing decisions need, made once per ask or tell. */
interface Routed {
  readonly type: string;
  readonly id: string;
  readonly msg: unknown;
  /** Clock time past which it fails with TIMEOUT. */
  readonly deadline: number;
  /** Times it has been forwarded between nodes. */
  readonly hops: number;
  /** The sender's map version: decisions wait for a map at least this new. */
  readonly minVersion: number;
  /** Started on this node, so kept in order in its shard's lane (a forwarded one is not). */
  readonly laned: boolean;
  /** A tell: the owner answers `null` once the turn is done. */
  readonly discard: boolean;
}

/** Why a message cannot be sent yet: no map new enough, no owner for its shard, or its lane busy toward another owner. */
type Blocked = { kind: "map"; have: number | undefined } | { kind: "owner"; map: ShardMap; shard: number } | { kind: "lane"; lane: Lane; shard: number; owner: string };

const isBlocked = (v: Promise<unknown> | Blocked): v is Blocked => typeof (v as Blocked).kind === "string";

/** Messages of one shard in flight from this router, and to whom. */
class Lane {

  target: string | undefined;
  outstanding = 0;
  private waiters: Array<() => void> = [];

  done(): void {
    this.outstanding--;
    if (this.outstanding > 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }

  /** Resolves when nothing is in flight, or after `ms`. */
  idle(clock: Clock, ms: number): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = clock.setTimeout(resolve, ms);
      this.waiters.push(() => {
        t.cancel();
        resolve();
      });
    });
  }
}
