import type { ActorType } from "../actor/calls.js";
import type { ActorDefinition } from "../actor/spec.js";
import { checkActorId } from "../actor/names.js";
import { checkSingletonId, singletonId } from "../actor/singleton.js";
import type { SenderSeq } from "../codec/envelope.js";
import { type Clock, type TimerHandle, systemClock } from "../clock.js";
import { BadRequestError, ConflictError, OverloadedError, ShoalError, UnavailableError, unknownActorType } from "../errors.js";
import { type Logger, silentLogger } from "../log.js";
import { type ActorRef, type Caller, type DeliveryOptions, makeRef, onFullOf, type RefFactory, type RefId, TAKEN, type TellOptions } from "../ref.js";
import type { ReplyTo } from "../reply-to.js";
import type { ActorKey, EventStore } from "../store/types.js";
import { Activation, type ActivationHost } from "./activation.js";
import { ActivationTable } from "./activation-table.js";
import { type Behavior, behaviorOf } from "./behavior.js";
import { Deadlines } from "./deadlines.js";
import { orderOptions } from "./order-gate.js";
import { PausedGroup, type PauseHost, type Selector } from "./pause.js";
import { idleActivations } from "./passivation.js";
import { LoadMeter } from "./load-meter.js";
import { Pending } from "./pending.js";
import type { KeepAliveHooks, RuntimeOptions, RuntimeStats } from "./runtime-options.js";
import type { OrderEntry, SenderOrderOptions } from "./sender-order.js";
import type { CapturedTimer } from "./timers.js";
import type { From, MailState, Origin, Outgoing } from "./outgoing.js";
import type { Sent } from "./turn-context.js";
import { ReminderService } from "../reminders/service.js";
import { MemoryReminderStorage } from "../reminders/storage.js";
import { topicBroker } from "../topics/broker.js";
import { topicsOver } from "../topics/topics.js";
import type { Topics } from "../topics/types.js";

export type { RuntimeOptions, RuntimeStats } from "./runtime-options.js";

/**
 * The actors of one process: activation on first message, one mailbox per actor, one turn at a
 * time, bounded mailboxes, passivation when idle. On its own it runs actors without a cluster
 * (`testRuntime` of `shoal/testing` makes one); every `ShoalNode` has one inside, which also
 * pauses, captures and hands off shards for live migration. Input is checked before it is
 * queued: an unknown type (UNKNOWN_ACTOR_TYPE), a bad id or a message the type's `validate`
 * refuses (BAD_REQUEST) changes nothing.
 *
 * ```ts
 * await using rt = new Runtime({ nodeId: "local", store: new MemoryEventStore(), actors: [counter] });
 * await rt.ref(counter, "c1").ask({ add: 2 });
 * ```
 */
export class Runtime implements ActivationHost, PauseHost, Caller, RefFactory {
  /** @internal Read by activations for `ctx.node` (ActivationHost). */
  readonly nodeId: string;
  /** @internal Read by activations and by a migration destination for deadlines. */
  readonly clock: Clock;
  /** @internal Read by activations (ActivationHost): per-sender order's bounds and gap timeout. */
  readonly orderOptions: SenderOrderOptions;
  private readonly store: EventStore;
  private readonly log: Logger;
  private readonly behaviors = new Map<string, Behavior>();
  private readonly activations: ActivationTable;
  private readonly pauses = new Set<PausedGroup>();
  private readonly partitionPauses = new Map<number, PausedGroup>();
  private readonly partitionOfFn: ((type: string, id: string) => number) | undefined;
  private readonly fence: ((key: ActorKey) => void) | undefined;
  private readonly unknownType: (type: string) => ShoalError;
  private readonly keepAlive: KeepAliveHooks | undefined;
  private readonly deadlines: Deadlines;
  private readonly mailboxCapacity: number;
  private readonly onMailboxFull: RuntimeOptions["onMailboxFull"];
  /** @internal Read by turns (TurnHost): the timeout of an ask that gives none. */
  readonly askTimeout: number;
  /** @internal Turns per shard and actor, mailboxes and state sizes (ActivationHost); the cluster layer samples it for load reports. */
  readonly meter: LoadMeter;
  /** @internal Where turns' asks and sends go (TurnHost): this runtime, or the node's router once connected. */
  outbound: Caller = this;
  /**
   * @internal The reminders of the shards this node owns (TurnHost). A standalone runtime owns its
   * one partition and keeps them in memory; a cluster node feeds it its shards and a KV bucket.
   */
  readonly reminders: ReminderService;
  private readonly passivateAfter: number;
  private readonly passivationInterval: number;
  private sweepTimer: TimerHandle | undefined;
  private stopped = false;
  /** Where the outcome of a {@link tell} goes: nowhere, or the failure hook. */
  private readonly told: ReplyTo;
  /** Shoal's own actor types, hosted by every runtime and left out of {@link types}. */
  private readonly builtIns = new Set<string>();
  /** Publishes on topics (to this runtime's own brokers, or through the node's router once connected). */
  readonly topics: Topics = topicsOver(this);

  /** Registers `opts.actors` (a TypeError for a name given twice); starts the passivation sweep. */
  constructor(opts: RuntimeOptions) {
    this.nodeId = opts.nodeId;
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.mailboxCapacity = opts.mailboxCapacity ?? 1000;
    this.onMailboxFull = opts.onMailboxFull;
    this.askTimeout = opts.askTimeout ?? 10_000;
    this.passivateAfter = opts.passivateAfter ?? 5 * 60_000;
    this.passivationInterval = opts.passivationInterval ?? 10_000;
    this.deadlines = new Deadlines(this.clock);
    this.orderOptions = orderOptions(opts.senderOrder);
    this.partitionOfFn = opts.partitionOf;
    this.activations = new ActivationTable(opts.partitionOf);
    this.meter = new LoadMeter(
      this.clock,
      () => this.activations.values(),
      (type, id) => this.partitionOf(type, id),
      opts.load,
    );
    this.fence = opts.fence;
    this.unknownType = opts.unknownType ?? unknownActorType;
    this.keepAlive = opts.keepAlive;
    const onTellFailed = opts.onTellFailed;
    this.told = {
      ok: noop,
      fail: (err) => {
        if (onTellFailed !== undefined) return onTellFailed(err);
        if (ShoalError.is(err)) this.log.debug({ err }, "a tell failed");
        else this.log.warn({ err }, "a tell failed");
      },
    };
    for (const def of opts.actors ?? []) this.register(def);
    this.register(topicBroker);
    this.builtIns.add(topicBroker.type);
    this.reminders = new ReminderService(opts.reminderStorage ?? new MemoryReminderStorage(), {
      clock: this.clock,
      log: this.log,
      shardOf: (type, id) => this.partitionOf(type, id),
      deliver: (r, origin) => this.send(r.type, r.id, r.msg, { from: { origin } }),
      wake: (type, id) => this.wake(type, id),
    });
    if (opts.partitionOf === undefined) void this.reminders.own([0]);
    this.armSweep();
  }

  /**
   * Hosts another actor type; a TypeError when a type of that name is already registered. A
   * runtime on its own (no cluster fence) starts a singleton type's actor at once; on a cluster,
   * its shard's owner does.
   */
  register(def: ActorDefinition): void {
    if (this.behaviors.has(def.type)) throw new TypeError(`actor type ${def.type} is already registered`);
    this.behaviors.set(
      def.type,
      behaviorOf(def, this.store, (err) => this.log.warn({ err }, "snapshot failed"), this.fence),
    );
    if (def.singleton === true && this.fence === undefined) {
      // After the constructor has made everything a turn may use (reminders, the outbound caller).
      queueMicrotask(() => {
        this.activate(def.type, singletonId(def.type)).catch((err: unknown) => this.log.warn({ err, type: def.type }, "singleton did not start"));
      });
    }
  }

  /** Names of the hosted actor types (Shoal's own, such as the topic brokers, left out). */
  get types(): string[] {
    return [...this.behaviors.keys()].filter((t) => !this.builtIns.has(t));
  }

  /** Whether an actor type of that name is registered here. */
  hosts(type: string): boolean {
    return this.behaviors.has(type);
  }

  /** Whether a hosted type is event-sourced or in-memory (undefined when not hosted). */
  kindOf(type: string): "event-sourced" | "in-memory" | undefined {
    return this.behaviors.get(type)?.def.kind;
  }

  /** A typed reference to actor `id` of a hosted type (see {@link ActorRef}); a singleton's definition needs no id. */
  ref<A extends ActorType>(type: A, ...id: RefId<A>): ActorRef<A> {
    return makeRef(this, type, id[0]);
  }

  /** The reply to `msg`, or its typed error (bad input: BAD_REQUEST / UNKNOWN_ACTOR_TYPE). Untyped: use {@link ref}. @internal */
  ask(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<unknown> {
    const deadline = this.clock.now() + (opts?.timeout ?? this.askTimeout);
    return new Promise((ok, fail) => this.deliver(type, id, msg, deadline, { ok, fail }, opts?.order, opts?.from));
  }

  /** Resolves once the turn has been applied (the reply is dropped). Untyped: use {@link ref}. @internal */
  send(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void> {
    const deadline = this.clock.now() + (opts?.timeout ?? this.askTimeout);
    return new Promise((ok, fail) => this.deliver(type, id, msg, deadline, { ok: () => ok(), fail }, opts?.order, opts?.from));
  }

  /**
   * Fire-and-forget: a failure (bad input, a full mailbox, the turn) goes to
   * {@link RuntimeOptions.onTellFailed}. Taken at once (a runtime on its own has no bound on
   * tells; its actors' `overflow` policies still apply); throws only for a bad `onFull`.
   * Untyped: use {@link ref}. @internal
   */
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions & TellOptions): Promise<void> {
    onFullOf(opts, "wait");
    this.deliver(type, id, msg, this.clock.now() + (opts?.timeout ?? this.askTimeout), this.told, opts?.order, opts?.from);
    return TAKEN;
  }

  /**
   * Sends turns' asks and messages through `caller` (a node's router) instead of this runtime's
   * own actors. @internal Set by the cluster layer once its router exists.
   */
  connect(caller: Caller): void {
    this.outbound = caller;
  }

  /**
   * The path every message takes, without a promise: the reply, or the typed error (bad input
   * too), goes to `to`. `deadline` is a time on this runtime's clock, past which the message
   * fails with TIMEOUT. With `order` (a client's, from the ingress) the actor runs it in that
   * sender's order (see {@link RuntimeOptions.senderOrder}). With `from`, it is a message from
   * another actor: applied once per origin, and part of a chain of asks.
   * @internal The cluster's router delivers through it to this node's actors.
   */
  deliver(type: string, id: string, msg: unknown, deadline: number, to: ReplyTo, order?: SenderSeq, from?: From): void {
    let p: Pending;
    try {
      p = this.prepare(type, id, msg, deadline, to, order, from);
    } catch (err) {
      return to.fail(err);
    }
    try {
      this.dispatch(p);
    } catch (err) {
      p.reject(err); // a full mailbox
    }
  }

  /**
   * Stops the turns of every actor matching `selector` and buffers their new messages. Resolves
   * once in-flight turns have finished; the group then captures state and ends in resume or release.
   * @internal Tests and tools; shard moves use {@link holdPartition}.
   */
  async pause(selector: Selector): Promise<PausedGroup> {
    const group = new PausedGroup(selector, this);
    this.pauses.add(group);
    group.ready = group.begin();
    await group.ready;
    return group;
  }

  /**
   * Pauses every actor of one partition (see {@link RuntimeOptions.partitionOf}) and returns the
   * group at once: from this call on, messages of the partition are buffered. `group.ready`
   * resolves once in-flight turns have finished.
   * @internal Used by live migration (source and destination).
   */
  holdPartition(partition: number): PausedGroup {
    if (this.partitionOfFn === undefined) throw new TypeError("pausing a partition needs the partitionOf option");
    if (this.partitionPauses.has(partition)) throw new TypeError(`partition ${partition} is already paused`);
    const of = this.partitionOfFn;
    const group = new PausedGroup((type, id) => of(type, id) === partition, this, partition);
    this.partitionPauses.set(partition, group);
    group.ready = group.begin();
    return group;
  }

  /**
   * Pauses every actor matching `selector` and returns the group at once (like
   * {@link holdPartition}, for a set of actors that is not one partition: a tenant leaving its
   * hashed shards for one of its own). `group.ready` resolves once in-flight turns have finished.
   * @internal Used by live migration (source).
   */
  holdSelected(selector: Selector): PausedGroup {
    const group = new PausedGroup(selector, this);
    this.pauses.add(group);
    group.ready = group.begin();
    return group;
  }

  /**
   * Files the matching activations again under the partition `partitionOf` gives them now
   * (their partition changed: a tenant got a shard of its own). Returns how many moved.
   * @internal Used by live migration, as a map with new tenant shards is applied.
   */
  repartition(matches: Selector): number {
    return this.activations.repartition(matches);
  }

  /**
   * The partition (shard) of an actor, by the partitionOf option (0 without one).
   * @internal Used by a migration destination.
   */
  partitionOf(type: string, id: string): number {
    return this.partitionOfFn?.(type, id) ?? 0;
  }

  /**
   * The pause group of a partition, if one is active.
   * @internal Used by live migration (source and destination).
   */
  pausedPartition(partition: number): PausedGroup | undefined {
    return this.partitionPauses.get(partition);
  }

  /**
   * Activates an actor with state handed over from another node (the inverse of capture), with
   * its per-sender order table and its timers when it has them (onActivate does not run: the
   * actor goes on). Fails when the actor is already active here.
   * @internal Used by a migration destination.
   */
  adopt(type: string, id: string, version: number, state: unknown, order?: readonly OrderEntry[], timers?: readonly CapturedTimer[], mail?: MailState): void {
    const behavior = this.behaviorFor(type);
    if (this.activations.get(type, id) !== undefined) throw new ConflictError(`${type}/${id} is already active on this node`);
    const a = new Activation({ type, id }, behavior, this, { live: { state: behavior.restore(state), version }, order, timers, mail });
    // Adopted into a held shard (a destination awaiting the tail): paused like the rest of it, so
    // a handed-over timer that comes due waits for the hold to end instead of running ahead of the tail.
    a.paused = this.isHeld(type, id);
    this.activations.add(a);
  }

  /**
   * Loads an actor and runs its onActivate without waiting for a message: a keep-alive actor or a
   * singleton started by its shard's owner. Resolves once it is idle (loaded, onActivate done,
   * nothing queued), at once when it is active already or its shard is held (it arrives by a
   * handoff, or is started when the hold ends); it may have failed to load (logged, not active).
   * Rejects with the type's, the id's or the fence's error (UNKNOWN_ACTOR_TYPE, BAD_REQUEST,
   * ACTOR_MOVED, UNAVAILABLE).
   * @internal Used by the cluster layer's keep-alive starter.
   */
  activate(type: string, id: string): Promise<void> {
    try {
      if (this.stopped) throw new UnavailableError("the runtime is stopped");
      const behavior = this.behaviorFor(type);
      checkSingletonId(behavior.def, checkActorId(id));
      this.fence?.({ type, id });
      if (this.isHeld(type, id) || this.activations.get(type, id) !== undefined) return Promise.resolve();
      const a = new Activation({ type, id }, behavior, this);
      this.activations.add(a);
      a.start();
      return a.whenIdle();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * An operator's replay of one actor: waits for its turn in flight, holds its new messages, drops
   * it from memory (running onPassivate), runs `between` (e.g. dropping its snapshot), then loads
   * it again from the store and runs what was held, in order. Resolves to whether it was in memory.
   * @internal Used by the cluster layer's replay (on the actor's owner).
   */
  async reload(type: string, id: string, between?: () => Promise<void>): Promise<boolean> {
    this.behaviorFor(type);
    checkActorId(id);
    const group = await this.pause((t, i) => t === type && i === id);
    const was = this.activations.get(type, id);
    let held: Pending[];
    try {
      await was?.passivate();
      await between?.();
    } finally {
      held = group.release();
    }
    for (const p of held) this.redispatch(p);
    await this.activate(type, id);
    return was !== undefined;
  }

  /**
   * An actor's state as its type's snapshot form (codec-safe) and its version, without changing
   * anything: the live state when it is in memory here, else an event-sourced actor loaded from
   * the store and dropped again (an in-memory actor not in memory has no state: undefined).
   * @internal Used by the cluster layer's inspect (on the actor's owner).
   */
  async peek(type: string, id: string): Promise<{ version: number; state: unknown; active: boolean } | undefined> {
    const behavior = this.behaviorFor(type);
    checkActorId(id);
    const live = this.activations.get(type, id)?.live;
    if (live !== undefined) return { version: live.version, state: behavior.capture(live), active: true };
    if (behavior.def.kind !== "event-sourced") return undefined;
    const loaded = await behavior.load({ type, id });
    return { version: loaded.version, state: behavior.capture(loaded), active: false };
  }

  /** Whether an actor is in memory here (for tests and status). */
  isActive(type: string, id: string): boolean {
    return this.activations.get(type, id) !== undefined;
  }

  /** Counts of this moment (see {@link RuntimeStats}); cheap enough for a metrics scrape. */
  stats(): RuntimeStats {
    let depth = 0;
    for (const a of this.activations.values()) depth += a.queued;
    return { activeActors: this.activations.size, mailboxDepth: depth, pausedGroups: this.pauses.size };
  }

  /** Stops like {@link stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Refuses new messages, lets in-flight turns finish, fails what is still queued with
   * UNAVAILABLE, then drops every activation: timers cancelled, onPassivate run (and awaited).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.sweepTimer?.cancel();
    this.reminders.stop();
    const closing = new UnavailableError("the runtime is stopping");
    for (const a of this.activations.values()) {
      a.paused = true;
      for (const p of a.drainAll()) p.reject(closing);
    }
    for (const g of [...this.pauses]) for (const p of g.release()) p.reject(closing);
    this.partitionPauses.clear();
    await Promise.all([...this.activations.values()].map((a) => a.whenIdle()));
    await Promise.all([...this.activations.values()].map((a) => a.passivate()));
    this.activations.clear();
    this.deadlines.close();
  }

  // ---- ActivationHost / PauseHost -------------------------------------------------------

  /** @internal ActivationHost: an activation's load failed; logs and forgets it. */
  loadFailed(activation: Activation, err: unknown): void {
    this.log.warn({ err, type: activation.key.type }, "activation failed to load");
    this.forget(activation);
  }

  /** @internal ActivationHost: a turn threw something that is not a ShoalError; logs it. */
  turnFailed(activation: Activation, err: unknown): void {
    if (!ShoalError.is(err)) this.log.error({ err, type: activation.key.type }, "turn failed");
  }

  /** @internal ActivationHost: a lifecycle hook threw, or a timer's message failed validate; logs it. */
  lifecycleFailed(activation: Activation, what: string, err: unknown): void {
    this.log.warn({ err, type: activation.key.type, what }, what === "timer" ? "a timer's message failed its validate" : `${what} failed`);
  }

  /** @internal ActivationHost: a turn that called `ctx.stop()` succeeded; a keep-alive actor is kept alive no more. */
  stopCommitted(a: Activation): void {
    if (a.behavior.def.keepAlive === true) this.keepAlive?.stopped(a.key);
  }

  /**
   * @internal ActivationHost: a stopping actor ran what waited for it. It leaves memory (timers
   * cancelled, onPassivate run); its next message starts a fresh activation.
   */
  actorStopped(a: Activation): void {
    a.paused = true;
    this.activations.delete(a);
    void a.passivate();
  }

  /**
   * Loads an event-sourced actor whose outbox may hold messages (its unacknowledged ones go out
   * again): true while some are still waiting, or while it cannot be loaded here now.
   */
  private async wake(type: string, id: string): Promise<boolean> {
    const behavior = this.behaviors.get(type);
    if (behavior === undefined || behavior.def.kind !== "event-sourced") return false;
    if (this.stopped || this.isHeld(type, id)) return true;
    let a = this.activations.get(type, id);
    if (a === undefined) {
      a = new Activation({ type, id }, behavior, this);
      this.activations.add(a);
    }
    return a.wake();
  }

  /** @internal PostboxHost: one message from an actor's outbox, with its origin; resolves once applied. */
  deliverOutgoing(to: ActorKey, msg: unknown, origin: Origin): Promise<void> {
    return this.outbound.send(to.type, to.id, msg, { from: { origin } });
  }

  /** @internal PostboxHost: a message from an actor's outbox was refused (REJECTED); logs it. */
  outgoingRefused(from: ActorKey, m: Outgoing, err: unknown): void {
    const fields = { err, from: from.type, to: m.type, v: m.v, i: m.i };
    if (m.tell) this.log.debug(fields, "a message between actors was refused");
    else this.log.warn(fields, "a message between actors was refused");
  }

  /** @internal PostboxHost: a message from an actor's outbox keeps failing (it is still retried); logs it. */
  outgoingStuck(from: ActorKey, m: Outgoing, err: unknown, attempts: number): void {
    this.log.warn({ err, from: from.type, to: m.type, v: m.v, i: m.i, attempts }, "a message between actors keeps failing; retrying");
  }

  /** @internal ActivationHost: an in-memory actor's turn sent messages; each goes once. */
  sendOnce(from: ActorKey, sent: readonly Sent[]): void {
    for (const m of sent) {
      if (m.tell) {
        // Waits past the router's bound whatever the node's default: the turn is applied already.
        try {
          void this.outbound.tell(m.type, m.id, m.msg, { onFull: "wait" });
        } catch (err) {
          this.log.warn({ err, from: from.type, to: m.type }, "a message between actors failed");
        }
        continue;
      }
      this.outbound.send(m.type, m.id, m.msg).catch((err: unknown) => this.log.warn({ err, from: from.type, to: m.type }, "a message between actors failed"));
    }
  }

  /** @internal PauseHost: the activations a pause group covers. */
  matchingActivations(selector: Selector, partition?: number): Activation[] {
    // A partition's actors come from the index: pausing a shard costs its actors, not the node's.
    if (partition !== undefined && this.partitionOfFn !== undefined) return this.activations.inPartition(partition);
    return [...this.activations.values()].filter((a) => selector(a.key.type, a.key.id));
  }

  /** @internal PauseHost: a pause group resumed or released. */
  endPause(group: PausedGroup): void {
    this.pauses.delete(group);
    if (group.partition !== undefined && this.partitionPauses.get(group.partition) === group) {
      this.partitionPauses.delete(group.partition);
    }
  }

  /** @internal PauseHost: runs a message a resumed pause group held. */
  redispatch(p: Pending): void {
    try {
      this.dispatch(p);
    } catch (err) {
      p.reject(err);
    }
  }

  /** @internal PauseHost: drops an activation whose actor left this node. */
  forget(activation: Activation): void {
    this.untrack(activation);
  }

  // ---- internals ------------------------------------------------------------------------

  private behaviorFor(type: string): Behavior {
    const behavior = this.behaviors.get(type);
    if (behavior === undefined) throw this.unknownType(type);
    return behavior;
  }

  /**
   * Checks and wraps a message like ask does, without dispatching it: the caller decides when it
   * runs (a destination queues a forwarded tail ahead of what it held). Throws on bad input.
   * @internal Used by a migration destination.
   */
  prepare(type: string, id: string, msg: unknown, deadline: number, to: ReplyTo, order?: SenderSeq, from?: From): Pending {
    if (this.stopped) throw new UnavailableError("the runtime is stopped");
    const behavior = this.behaviorFor(type);
    checkSingletonId(behavior.def, checkActorId(id));
    let valid: unknown;
    try {
      valid = behavior.def.validate(msg);
    } catch (err) {
      if (ShoalError.is(err)) throw err;
      throw new BadRequestError(`invalid message for ${type}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    return new Pending(type, id, valid, deadline, to, order, undefined, from);
  }

  /** Whether a pause group covers the actor (its messages are being buffered). */
  private isHeld(type: string, id: string): boolean {
    if (this.partitionOfFn !== undefined && this.partitionPauses.has(this.partitionOfFn(type, id))) return true;
    for (const g of this.pauses) if (g.partition === undefined && g.matches(type, id)) return true;
    return false;
  }

  private dispatch(p: Pending): void {
    if (this.partitionPauses.size > 0) {
      const g = this.partitionPauses.get(this.partitionOfFn!(p.type, p.id));
      if (g !== undefined) {
        g.buffer(p);
        this.deadlines.add(p);
        return;
      }
    }
    // Selector pauses are rare (tests, tools): no iterator per message when there are none.
    if (this.pauses.size > 0) {
      for (const g of this.pauses) {
        if (g.partition !== undefined) continue;
        if (g.matches(p.type, p.id)) {
          g.buffer(p);
          this.deadlines.add(p);
          return;
        }
      }
    }
    let a = this.activations.get(p.type, p.id);
    if (a === undefined) {
      a = new Activation({ type: p.type, id: p.id }, this.behaviorFor(p.type), this);
      this.activations.add(a);
      if (a.behavior.def.keepAlive === true || a.behavior.def.prewarm === true) this.keepAlive?.activated(a.key);
    }
    const capacity = a.behavior.def.mailboxCapacity ?? this.mailboxCapacity;
    if (a.queued >= capacity) return this.overflow(a, p, capacity);
    this.deadlines.add(p);
    a.enqueue(p);
  }

  /** `p` found its actor's mailbox full: its type's `overflow` policy decides (throws OVERLOADED to reject it). */
  private overflow(a: Activation, p: Pending, capacity: number): void {
    const policy = a.behavior.def.overflow ?? "reject";
    const full = (dropped: boolean) =>
      new OverloadedError(
        dropped
          ? `dropped from the full mailbox of a ${p.type} actor for a newer message (${capacity} messages)`
          : `mailbox of ${p.type} actor is full (${capacity} messages)`,
        { details: dropped ? { type: p.type, capacity, dropped } : { type: p.type, capacity } },
      );
    if (policy === "wait" || (policy === "drop-oldest" && a.dropOldest(full(true)))) {
      this.onMailboxFull?.(p.type, policy === "wait" ? "waited" : "dropped");
      this.deadlines.add(p);
      return a.enqueue(p, policy === "wait" ? capacity : undefined);
    }
    this.onMailboxFull?.(p.type, "rejected");
    throw full(false);
  }

  private armSweep(): void {
    this.sweepTimer = this.clock.setTimeout(() => {
      this.passivateIdle();
      if (!this.stopped) this.armSweep();
    }, this.passivationInterval);
  }

  private passivateIdle(): void {
    for (const a of idleActivations(this.activations.values(), this.clock.now(), this.passivateAfter)) {
      void a.passivate();
      this.untrack(a);
      // Idle, so no longer worth pre-warming on its shard's next owner.
      if (a.behavior.def.prewarm === true) this.keepAlive?.stopped(a.key);
    }
  }

  /** Removes `a`, if it is still the activation of its actor; its timers stop. */
  private untrack(a: Activation): void {
    a.drop();
    this.activations.delete(a);
  }
}

function noop(): void {}
