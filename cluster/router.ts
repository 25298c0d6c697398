import { checkActorId, checkActorTypeName } from "../src/actor/names.js";
import type { Clock } from "../src/clock.js";
import { ActorMovedError, ErrorCode, OverloadedError, ShoalError, TimeoutError, UnavailableError } from "../src/errors.js";
import type { SenderSeq } from "../src/codec/envelope.js";
import { type DeliveryOptions, type OnFull, onFullOf, TAKEN, type TellOptions, tellLimits } from "../src/ref.js";
import { Deadlines, type Expirable } from "../src/runtime/deadlines.js";
import type { From } from "../src/runtime/outgoing.js";
import type { ReplyTo } from "../src/reply-to.js";
import type { ShardMap } from "./placement.js";
import { groupOf, groupUnhosted, shardInGroup, type TenantOf } from "../src/routing/actor-shard.js";
import type { Transport } from "./transport.js";
import { type Held, Lane } from "./lane.js";
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
  /** Most tells of one lane (shard) in flight at once; see {@link Router.tell}. Default 1000. */
  tellBound?: number;
  /** What a tell past the bound does unless its call says: wait (default) or fail. */
  tellOnFull?: OnFull;
  /** Told when a tell found its lane full: it `"waited"`, or it was `"refused"` (`onFull: "fail"`). */
  onTellHeld?: (outcome: "waited" | "refused") => void;
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
 * Per-sender order: messages for one shard from this router travel in a {@link Lane}. While
 * messages are in flight to one owner, a message for a new owner waits until they have settled,
 * so a later message never overtakes an earlier one across a move (the old owner forwards its
 * stragglers; the new owner holds direct messages until the forwarded tail is in). Lanes order
 * what starts on one node; a client's messages that enter through several nodes carry its
 * `sender` and `seq`, which travel with them to the owner and are put in order there.
 *
 * Backpressure: a lane has at most `tellBound` tells in flight; a tell past it waits in the lane
 * (and everything started after it, to keep the order) or fails at once (see {@link tell}).
 */
export class Router {
  private readonly lanes = new Map<number, Lane<Routed>>();
  private readonly askTimeout: number;
  private readonly maxHops: number;
  private readonly tellBound: number;
  private readonly tellOnFull: OnFull;
  /** The deadlines of messages waiting in lanes (one timer for all). */
  private readonly waits: Deadlines;

  private forwards = 0;

  constructor(private readonly opts: RouterOptions) {
    this.askTimeout = opts.askTimeout ?? 10_000;
    this.maxHops = opts.maxHops ?? 3;
    ({ bound: this.tellBound, onFull: this.tellOnFull } = tellLimits(opts.tellBound, opts.tellOnFull));
    this.waits = new Deadlines(opts.clock);
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
   * A message sent and forgotten: no reply. It is routed, ordered and retried like a send — a
   * move does not lose it, and it keeps its place among this router's messages to the actor —
   * but the owner acknowledges the tells of a batch together, and a failure (a full mailbox, a
   * turn that throws, the deadline) goes to {@link RouterOptions.onTellFailed} on the node where
   * it happens (counted at the sender from the acknowledgement), not to the caller. Lost if its
   * owner crashes before the turn: at most once, like a NATS publish.
   *
   * Bounded: a lane holds at most `tellBound` tells in flight (sent and not yet acknowledged,
   * i.e. until their turns have run). A tell past it waits in its lane until one of them is
   * done — and what this node starts for the lane after it waits behind it, so the order holds
   * — unless `onFull` (the call's, else `tellOnFull`) is `"fail"`: then it throws OVERLOADED
   * and nothing is sent. The promise resolves once the tell has left this router (at once in
   * the common case; a shared settled promise, so that costs nothing), or has failed (a
   * waiting tell past its deadline fails with TIMEOUT, to the hook); it never rejects. Throws
   * BAD_REQUEST at once for an id or type name that can never be valid.
   */
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions & TellOptions): Promise<void> {
    checkActorTypeName(type);
    checkActorId(id);
    const onFull = onFullOf(opts, this.tellOnFull);
    const now = this.opts.clock.now();
    const m = new Routed(this, type, id, msg, now + (opts?.timeout ?? this.askTimeout), 0, 0, true, "tell", this.told, opts?.order, opts?.from);
    m.failFast = onFull === "fail";
    const blocked = this.decide(m, now);
    if (blocked?.kind === "lane" && blocked.held === "full" && m.failFast) {
      this.opts.onTellHeld?.("refused");
      throw this.laneFull(blocked.shard);
    }
    this.proceed(m, blocked);
    return m.taken();
  }

  private laneFull(shard: number): OverloadedError {
    return new OverloadedError(`this node has ${this.tellBound} tells in flight to shard ${shard} (tellBound)`, {
      details: { shard, tellBound: this.tellBound },
    });
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
    this.proceed(m, this.decide(m, now));
  }

  /** {@link sendNow}, with a throw as the message's failure. */
  private decide(m: Routed, now: number): Blocked | undefined {
    try {
      return this.sendNow(m, now);
    } catch (err) {
      m.reject(err);
      return undefined;
    }
  }

  /** Waits for what blocks `m`: its place in its lane, or (in {@link loop}) a map or an owner. */
  private proceed(m: Routed, blocked: Blocked | undefined): void {
    if (blocked === undefined) return;
    if (blocked.kind === "lane") return this.park(m, blocked.lane, blocked.held, blocked.shard);
    this.loop(m, blocked).catch((err: unknown) => m.reject(err));
  }

  /** `m` waits in `lane` (of `shard`), until its deadline at most. */
  private park(m: Routed, lane: Lane<Routed>, held: Held, shard: number): void {
    if (held === "full") {
      this.opts.onTellHeld?.(m.failFast ? "refused" : "waited");
      // Found full only after waiting for a map or an owner: the caller has its promise already.
      if (m.failFast) return m.reject(this.laneFull(shard));
    }
    if (m.parkedAt === undefined) this.waits.add(m);
    m.parkedAt = this.opts.clock.now();
    lane.park(m);
  }

  /** A lane lets its oldest waiting message try again: false when it still has to wait there. */
  private readonly resume = (m: Routed): boolean => {
    if (m.retrying) return false; // waits for a newer map first (see retryAfter)
    const now = this.opts.clock.now();
    const blocked = this.decide(m, now);
    if (blocked?.kind === "lane") return false;
    const waited = now - (m.parkedAt ?? now);
    if (waited > 1000) this.opts.onSlow?.(`a message for ${m.type}/${m.id.slice(0, 40)} waited ${waited} ms in its lane`);
    this.proceed(m, blocked);
    return true;
  };

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
    const shard = shardInGroup(map, group, type, id, this.opts.tenantOf);
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
    const held = lane?.holds(m, owner, this.tellBound);
    if (held !== undefined) return { kind: "lane", lane: lane!, shard, held };
    lane?.take(m, owner);
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
  retryAfter(err: unknown, map: ShardMap, m: Routed, lane: Lane<Routed> | undefined): void {
    const left = m.deadline - this.opts.clock.now();
    if (!ShoalError.is(err) || !retryable.has(err.code) || left <= 0) return m.reject(err);
    // Laned, it keeps its place meanwhile: what was started after it waits behind it.
    if (lane !== undefined) {
      m.retrying = true;
      this.park(m, lane, "behind", -1);
    }
    this.opts.maps
      .waitFor((v) => v !== undefined && v.version > map.version, Math.min(left, RETRY_WAIT_MS))
      .then(
        () => {
          if (lane === undefined) return this.route(m);
          m.retrying = false;
          lane.wake();
        },
        (e: unknown) => m.reject(e),
      );
  }

  /** Waits for a map or an owner, then decides again, until it is sent, failed or waits in its lane. */
  private async loop(m: Routed, blocked: Blocked): Promise<void> {
    const { clock, maps } = this.opts;
    const { type, id, minVersion } = m;
    for (let sent: Blocked | undefined = blocked; sent !== undefined; sent = this.sendNow(m, clock.now())) {
      const remaining = m.deadline - clock.now();
      if (sent.kind === "lane") return this.park(m, sent.lane, sent.held, sent.shard);
      if (sent.kind === "map") {
        this.opts.onSlow?.(`waiting for map v${minVersion} (have v${sent.have ?? "none"}) for ${type}/${id.slice(0, 40)}`);
        if (!(await maps.waitFor((v) => v !== undefined && v.version >= minVersion, remaining))) throw new UnavailableError("no shard map yet on this node");
      } else {
        // Mid-rebalance: wait (bounded) for a map that gives the shard an owner.
        const { map, shard } = sent;
        if (!(await maps.waitFor((v) => v !== undefined && v.version > map.version, remaining))) {
          throw new UnavailableError(`shard ${shard} has no owner`, { details: { shard } });
        }
      }
    }
  }

  private lane(shard: number): Lane<Routed> {
    let lane = this.lanes.get(shard);
    if (lane === undefined) {
      lane = new Lane(this.resume);
      this.lanes.set(shard, lane);
    }
    return lane;
  }
}

/** Routed messages in the order they were started on this node (a lane's waiting order). */
let nextRouted = 0;

/**
 * One message on its way: everything the routing decisions need, made once per ask or send,
 * and where its outcome goes. It is also the {@link ReplyTo} of its current send: an answer
 * frees its lane and settles the caller's promise; a retryable failure routes it again.
 */
class Routed implements ReplyTo, Expirable {
  /** The lane and map of the send in flight (the lane is freed once it is answered). */
  private lane: Lane<Routed> | undefined;
  private map: ShardMap | undefined;
  /** Its place in the order messages start on this node. */
  readonly seq = nextRouted++;
  /** Sent at least once (a retry is not held back by the tell bound). */
  admitted = false;
  /** The lane it waits in (set by the lane). */
  waitingIn: object | undefined;
  /** When it last began to wait in its lane (undefined: never did, its deadline is not watched yet). */
  parkedAt: number | undefined;
  /** A tell whose caller would rather fail than wait past the bound. */
  failFast = false;
  /** Failed with a retryable error: it waits in its lane for a newer map before it goes again. */
  retrying = false;
  /** Answered or failed for good. */
  settled = false;
  /** Resolves the tell's promise once it has left the router (set only when it had to wait). */
  private onTaken: (() => void) | undefined;

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

  sent(map: ShardMap, lane: Lane<Routed> | undefined): void {
    this.map = map;
    this.lane = lane;
    this.admitted = true;
    this.wasTaken();
  }

  /** What a tell returns: settled when it has been sent or has failed (the shared settled promise when that is already so). */
  taken(): Promise<void> {
    if (this.admitted || this.settled) return TAKEN;
    return new Promise((resolve) => {
      this.onTaken = resolve;
    });
  }

  private wasTaken(): void {
    const f = this.onTaken;
    this.onTaken = undefined;
    f?.();
  }

  /** Past its deadline: fails with TIMEOUT if it is still waiting in its lane (one in flight is timed by its transport). */
  expire(): void {
    if (this.waitingIn === undefined) return;
    this.reject(new TimeoutError(`${this.type}/${this.id.slice(0, 40)} waited past its deadline in this node's lane`, { details: { type: this.type } }));
  }

  ok(reply: unknown): void {
    this.settled = true;
    this.release();
    this.wasTaken();
    this.out.ok(this.mode === "ask" ? reply : undefined);
  }

  /** Fails for good: no retry. */
  reject(err: unknown): void {
    this.settled = true;
    this.release();
    this.wasTaken();
    this.out.fail(err);
    // Failed while it waited in its lane: what waited behind it may go.
    (this.waitingIn as Lane<Routed> | undefined)?.leave(this);
  }

  fail(err: unknown): void {
    const lane = this.lane;
    this.lane = undefined;
    // Put back in its lane (if it is retried) before its slot is freed, so nothing overtakes it.
    this.router.retryAfter(err, this.map!, this, lane);
    lane?.done(this);
  }

  private release(): void {
    const lane = this.lane;
    this.lane = undefined;
    lane?.done(this);
  }
}

/** The error for a type whose role group no node hosts: no member has one of its roles. */
function noRoleHost(type: string, roles: readonly string[], mapVersion: number): UnavailableError {
  const which = roles.length === 1 ? `role ${roles[0]}` : `any of the roles ${roles.join(", ")}`;
  return new UnavailableError(`no node with ${which} is in the cluster to host actor type ${type}`, { details: { type, roles: [...roles], mapVersion } });
}

/** Why a message cannot be sent yet: no map new enough, no owner for its shard, or it has to wait in its lane. */
type Blocked =
  | { kind: "map"; have: number | undefined }
  | { kind: "owner"; map: ShardMap; shard: number }
  | { kind: "lane"; lane: Lane<Routed>; shard: number; held: Held };
