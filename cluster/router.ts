import { checkActorId, checkActorTypeName } from "../src/actor/names.js";
import type { Clock } from "../src/clock.js";
import { ActorMovedError, ErrorCode, ShoalError, TimeoutError, UnavailableError } from "../src/errors.js";
import type { SenderSeq } from "../src/codec/envelope.js";
import type { DeliveryOptions } from "../src/ref.js";
import type { From } from "../src/runtime/outgoing.js";
import type { ReplyTo } from "../src/reply-to.js";
import type { ShardMap } from "./placement.js";
import { groupOf, groupUnhosted, shardIn, type TenantOf } from "../src/routing/actor-shard.js";
import type { Transport } from "./transport.js";
import { type ForwardedAsk, type Mode, modeOf, setMode } from "./wire.js";

/** The node's view of the shard map, and a way to wait for it to change. */
export interface MapView {
  current(): ShardMap | undefined;
  /** Resolves true once `until(current())` holds, false when `timeoutMs` passes first. */
  waitFor(until: (m: ShardMap | undefined) => boolean, timeoutMs: number): Promise<boolean>;
}

/** This node's actors (the runtime): a message's reply, or its typed error, goes to `to`. */
export interface LocalActors {
  /**
   * `deadline`: a time on the router's clock, past which the message fails with TIMEOUT;
   * `order`: a client's place in its order of messages to the actor, if it has one; `from`: the
   * outgoing message of another actor it is, and the asks waiting on it.
   */
  deliver(type: string, id: string, msg: unknown, deadline: number, to: ReplyTo, order?: SenderSeq, from?: From): void;
}

export interface RouterOptions {
  nodeId: string;
  /** This node's actors (the runtime). */
  local: LocalActors;
  transport: Transport;
  maps: MapView;
  clock: Clock;
  /** Default ask timeout (ms). */
  askTimeout?: number;
  /** Most times one message is forwarded between nodes before ACTOR_MOVED. */
  maxHops?: number;
  /** Told when a message waited unusually long inside the router (for logs). */
  onSlow?: (what: string) => void;
  /** Told when a tell started on this node failed (it has no caller to tell). */
  onTellFailed?: (err: unknown) => void;
  /**
   * The roles a type defined on this node is bound to (undefined: none). A message for such a
   * type waits for a map that has its group, rather than going by the default group meanwhile.
   */
  rolesOf?: (type: string) => readonly string[] | undefined;
  /** The tenant of an actor id, by its type's definition (default: the id's prefix before `/`). */
  tenantOf?: TenantOf;
}

/** Errors after which nothing was applied and the map may have moved on: wait for it, retry. */
const retryable = new Set<string>([ErrorCode.ACTOR_MOVED, ErrorCode.UNAVAILABLE, ErrorCode.CONFLICT]);

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
 * stragglers; the new owner holds direct messages until the forwarded tail is in). Lanes order
 * what starts on one node; a client's messages that enter through several nodes carry its
 * `sender` and `seq`, which travel with them to the owner and are put in order there.
 */
export class Router {
  private readonly lanes = new Map<number, Lane>();
  private readonly askTimeout: number;
  private readonly maxHops: number;

  private forwards = 0;

  constructor(private readonly opts: RouterOptions) {
    this.askTimeout = opts.askTimeout ?? 10_000;
    this.maxHops = opts.maxHops ?? 3;
  }

  /**
   * Messages this router has sent on to a peer (each attempt counts): the hops that a client
   * routing by the map saves, and what a stale map costs.
   */
  get forwarded(): number {
    return this.forwards;
  }

  ask(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<unknown> {
    const now = this.opts.clock.now();
    const deadline = now + (opts?.timeout ?? this.askTimeout);
    return new Promise((ok, fail) => this.route(new Routed(this, type, id, msg, deadline, 0, 0, true, "ask", { ok, fail }, opts?.order, opts?.from), now));
  }

  /**
   * A message whose reply the caller does not want. It is routed, ordered and retried exactly
   * like an ask — a send is never lost to a move — but the owner sends back only that the turn
   * is done. Resolves then; rejects with the typed error if it could not be delivered in time.
   */
  send(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void> {
    const now = this.opts.clock.now();
    const deadline = now + (opts?.timeout ?? this.askTimeout);
    // Settled with undefined: a discarded reply never reaches the caller.
    return new Promise<unknown>((ok, fail) =>
      this.route(new Routed(this, type, id, msg, deadline, 0, 0, true, "send", { ok, fail }, opts?.order, opts?.from), now),
    ) as Promise<void>;
  }

  /**
   * A message sent and forgotten: no promise, no reply. It is routed, ordered and retried like a
   * send — a move does not lose it, and it keeps its place among this router's messages to the
   * actor — but the owner acknowledges the tells of a batch together, and a failure (a full
   * mailbox, a turn that throws, the deadline) goes to {@link RouterOptions.onTellFailed} on
   * the node where it happens (counted at the sender from the acknowledgement), not to the
   * caller. Lost if its owner crashes before the turn: at most once, like a NATS publish.
   * Throws BAD_REQUEST at once for an id or type name that can never be valid.
   */
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions): void {
    checkActorTypeName(type);
    checkActorId(id);
    const now = this.opts.clock.now();
    this.route(new Routed(this, type, id, msg, now + (opts?.timeout ?? this.askTimeout), 0, 0, true, "tell", this.told, opts?.order, opts?.from), now);
  }

  /** Where a tell started here ends: nowhere, or the failure hook. */
  private readonly told: ReplyTo = {
    ok: () => undefined,
    fail: (err) => this.opts.onTellFailed?.(err),
  };

  /**
   * An ask another node routed here: judged by a map at least as new as the sender's. It skips
   * the lanes: they order what starts on this node, and a forwarded ask may be the very message
   * this node's lane is waiting for (A forwards to B, B's newer map sends it back to A), so
   * waiting there would deadlock. Forwarded asks go on synchronously in arrival order, which
   * keeps the order they came in.
   */
  handleForwarded(req: ForwardedAsk, to: ReplyTo): void {
    const now = this.opts.clock.now();
    this.route(
      new Routed(this, req.type, req.id, req.msg, now + req.timeoutMs, req.hops + 1, req.mapVersion, false, modeOf(req), to, req.order, req.from),
      now,
    );
  }

  /**
   * Routes one message: sends it at once when nothing has to be waited for (no async frame on
   * that path), else waits in {@link loop} for what blocks it and tries again. The message is
   * settled by its own {@link Routed.ok} / {@link Routed.fail}, never by a promise chain here:
   * a window of thousands in flight would otherwise carry a promise and closures per layer.
   */
  route(m: Routed, now = this.opts.clock.now()): void {
    try {
      const blocked = this.sendNow(m, now);
      if (blocked !== undefined) this.loop(m, blocked).catch((err: unknown) => m.reject(err));
    } catch (err) {
      m.reject(err);
    }
  }

  /**
   * One routing decision, made now: the send (or the failure, when the deadline has passed or
   * the hops are spent), or what has to be waited for first. The only place the checks are
   * made; the lane counts the send until it settles.
   */
  private sendNow(m: Routed, now: number): Blocked | undefined {
    const { maps, nodeId } = this.opts;
    const { type, id, minVersion } = m;
    const remaining = m.deadline - now;
    if (remaining <= 0) return void m.reject(new TimeoutError(`no owner of ${type} answered in time`, { details: { type } }));
    const map = maps.current();
    if (map === undefined || map.version < minVersion) return { kind: "map", have: map?.version };
    const group = groupOf(map, type);
    const shard = shardIn(map, type, id, this.opts.tenantOf);
    const owner = map.owners[shard] ?? null;
    if (group === undefined && this.opts.rolesOf?.(type) !== undefined) return { kind: "owner", map, shard };
    if (owner === null) {
      if (group !== undefined && groupUnhosted(map, group)) return void m.reject(noRoleHost(type, group.roles, map.version));
      return { kind: "owner", map, shard };
    }
    if (owner !== nodeId && m.hops > this.maxHops) {
      return void m.reject(new ActorMovedError(`shard ${shard} is owned by ${owner}`, { details: { shard, owner, mapVersion: map.version } }));
    }
    const lane = m.laned ? this.lane(shard) : undefined;
    if (lane !== undefined && lane.outstanding > 0 && lane.target !== owner) return { kind: "lane", lane, shard, owner };
    if (lane !== undefined) {
      lane.target = owner;
      lane.outstanding++;
    }
    m.sent(map, lane);
    this.attempt(owner, map, m, remaining);
    return undefined;
  }

  /** One send to `owner`: this node's runtime, or a peer. Its outcome goes to `m`, never as a throw. */
  private attempt(owner: string, map: ShardMap, m: Routed, remaining: number): void {
    try {
      if (owner === this.opts.nodeId) return this.opts.local.deliver(m.type, m.id, m.msg, m.deadline, m, m.order, m.from);
      const req: ForwardedAsk = {
        k: "ask",
        type: m.type,
        id: m.id,
        msg: m.msg,
        timeoutMs: Math.max(1, remaining - 100),
        mapVersion: map.version,
        hops: m.hops,
      };
      setMode(req, m.mode);
      this.forwards++;
      if (m.order !== undefined) req.order = m.order;
      if (m.from !== undefined) req.from = m.from;
      this.opts.transport.send(owner, req, remaining, m);
    } catch (err) {
      m.fail(err);
    }
  }

  /**
   * After a failed send by `map` (called by the message itself): nothing was applied if the
   * error is retryable, so wait for a newer map and route again; else it fails for good.
   */
  retryAfter(err: unknown, map: ShardMap, m: Routed): void {
    const left = m.deadline - this.opts.clock.now();
    if (!ShoalError.is(err) || !retryable.has(err.code) || left <= 0) return m.reject(err);
    this.opts.maps
      .waitFor((v) => v !== undefined && v.version > map.version, Math.min(left, RETRY_WAIT_MS))
      .then(
        () => this.route(m),
        (e: unknown) => m.reject(e),
      );
  }

  /** Waits for whatever blocks the send, then decides again, until it is sent or failed. */
  private async loop(m: Routed, blocked: Blocked): Promise<void> {
    const { clock, maps } = this.opts;
    const { type, id, minVersion } = m;
    for (let sent: Blocked | undefined = blocked; sent !== undefined; sent = this.sendNow(m, clock.now())) {
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
        if (waited > 1000)
          this.opts.onSlow?.(
            `lane of shard ${sent.shard} busy toward ${sent.lane.target} for ${waited} ms (next owner ${sent.owner}, ${sent.lane.outstanding} outstanding)`,
          );
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

/**
 * One message on its way: everything the routing decisions need, made once per ask or send,
 * and where its outcome goes. It is also the {@link ReplyTo} of its current send: an answer
 * frees its lane and settles the caller's promise; a retryable failure routes it again.
 */
class Routed implements ReplyTo {
  /** The lane and map of the send in flight (the lane is freed once it is answered). */
  private lane: Lane | undefined;
  private map: ShardMap | undefined;

  constructor(
    private readonly router: Router,
    readonly type: string,
    readonly id: string,
    readonly msg: unknown,
    /** Clock time past which it fails with TIMEOUT. */
    readonly deadline: number,
    /** Times it has been forwarded between nodes. */
    readonly hops: number,
    /** The sender's map version: decisions wait for a map at least this new. */
    readonly minVersion: number,
    /** Started on this node, so kept in order in its shard's lane (a forwarded one is not). */
    readonly laned: boolean,
    /** An ask, a send (the owner answers `null` once the turn is done) or a tell (answered with its batch). */
    readonly mode: Mode,
    /** Where its outcome goes: the caller's promise, or the peer that forwarded it. */
    private readonly out: ReplyTo,
    /** A client's place in its order of messages to the actor, carried to the owner. */
    readonly order?: SenderSeq,
    /** From another actor: the outgoing message it is, and the asks waiting on it, carried to the owner. */
    readonly from?: From,
  ) {}

  sent(map: ShardMap, lane: Lane | undefined): void {
    this.map = map;
    this.lane = lane;
  }

  ok(reply: unknown): void {
    this.release();
    this.out.ok(this.mode === "ask" ? reply : undefined);
  }

  /** Fails for good: no retry. */
  reject(err: unknown): void {
    this.release();
    this.out.fail(err);
  }

  fail(err: unknown): void {
    this.release();
    this.router.retryAfter(err, this.map!, this);
  }

  private release(): void {
    const lane = this.lane;
    this.lane = undefined;
    lane?.done();
  }
}

/** The error for a type whose role group no node hosts: no member has one of its roles. */
function noRoleHost(type: string, roles: readonly string[], mapVersion: number): UnavailableError {
  const which = roles.length === 1 ? `role ${roles[0]}` : `any of the roles ${roles.join(", ")}`;
  return new UnavailableError(`no node with ${which} is in the cluster to host actor type ${type}`, { details: { type, roles: [...roles], mapVersion } });
}

/** Why a message cannot be sent yet: no map new enough, no owner for its shard, or its lane busy toward another owner. */
type Blocked =
  | { kind: "map"; have: number | undefined }
  | { kind: "owner"; map: ShardMap; shard: number }
  | { kind: "lane"; lane: Lane; shard: number; owner: string };

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
