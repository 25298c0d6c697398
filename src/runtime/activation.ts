import type { ActorContext } from "../actor/spec.js";
import { ErrorCode, ShoalError } from "../errors.js";
import type { ActorKey } from "../store/types.js";
import type { Behavior, Live, TurnBooks, TurnResult } from "./behavior.js";
import { OrderGate } from "./order-gate.js";
import type { MailState } from "./outgoing.js";
import type { ActorLoad, LoadMeter } from "./load-meter.js";
import { Pending } from "./pending.js";
import { Postbox, type PostboxHost } from "./postbox.js";
import { Mailbox } from "./mailbox.js";
import type { OrderEntry, SenderOrderOptions } from "./sender-order.js";
import { type CapturedTimer, type TimerTag, TimerTable, TurnTimers } from "./timers.js";
import { callCycle, type Sent, TurnCtx, type TurnHost } from "./turn-context.js";

/** The window over which the adaptive snapshot policy counts an actor's appends (ms). */
const HEAT_WINDOW_MS = 60_000;

/** What an activation needs from its runtime. */
export interface ActivationHost extends TurnHost, PostboxHost {
  /** An in-memory actor's turn sent messages: they go now, once. */
  sendOnce(from: ActorKey, sent: readonly Sent[]): void;
  /** The load failed: every queued message has been rejected; the runtime forgets the activation. */
  loadFailed(activation: Activation, err: unknown): void;
  /** A turn threw something that is not a domain answer: worth logging. */
  turnFailed(activation: Activation, err: unknown): void;
  /** Bounds and gap timeout of per-sender order. */
  readonly orderOptions: SenderOrderOptions;
  /** A lifecycle hook threw, or a timer's message failed its type's validate: worth logging, nothing more. */
  lifecycleFailed(activation: Activation, what: "onActivate" | "onPassivate" | "timer", err: unknown): void;
  /** A turn or onActivate that called `ctx.stop()` succeeded: the actor is stopping (kept alive no more). */
  stopCommitted(activation: Activation): void;
  /** A stopping actor has nothing more to run: the activation ends. */
  actorStopped(activation: Activation): void;
  /** Counts turns per actor and shard. */
  readonly meter: LoadMeter;
}

/** What an actor brings when it arrives by a live handoff. */
export interface Handed {
  live: Live;
  /** Its per-sender order table. */
  order?: readonly OrderEntry[] | undefined;
  /** Its timers, each with what remained of its delay. */
  timers?: readonly CapturedTimer[] | undefined;
  /** Its messages between actors: unacknowledged outgoing ones, the last applied per sender. */
  mail?: MailState | undefined;
}

/**
 * One actor in memory on this node: its state, version and mailbox. Turns run one at a time,
 * in arrival order. The loop stays synchronous while turns are (warm queries, in-memory
 * actors) and continues after a promise when a turn has to load or persist.
 */
export class Activation {
  readonly mailbox = new Mailbox();
  live: Live | undefined;
  lastActive: number;
  paused = false;
  /** Its turn counters and state-size estimate (the runtime's {@link LoadMeter}). */
  readonly load: ActorLoad;
  private running = false;
  private reload = true;
  private idleWaiters: Array<() => void> = [];
  /** Per-sender order, made when the first message with a sender comes (or with a handed-over table). */
  private gate: OrderGate | undefined;
  /** The actor's timers, made when the first one is set. */
  private timers: TimerTable | undefined;
  /** onActivate is still to run (before the first turn; never for an actor handed over). */
  private activating: boolean;
  /** Its messages between actors, made when the first is sent or received (or with a loaded or handed-over state). */
  private postbox: Postbox | undefined;
  /** Registered for wake-ups while it has outgoing messages (see ReminderService.enlist); set once a sending turn enlisted it. */
  private enlisted = false;
  /** A wake-up (or {@link start}) asked for a load with no message waiting. */
  /** Events appended in the current minute-long window, and when it began (the adaptive policy's heat). */
  private heatCount = 0;
  private heatSince = 0;

  /**
   * Counts `appended` events; true while the actor is hot: with the adaptive snapshot policy, it
   * appended `snapshotEvery` events or more within the last minute-long window.
   */
  private heat(appended: number): boolean {
    const def = this.behavior.def;
    if (def.kind !== "event-sourced" || def.snapshotPolicy?.adaptive !== true) return false;
    const now = this.host.clock.now();
    if (now - this.heatSince > HEAT_WINDOW_MS) {
      this.heatSince = now;
      this.heatCount = 0;
    }
    this.heatCount += appended;
    return this.heatCount >= def.snapshotEvery;
  }

  /** Its mail state now, for a snapshot (computed only when one is saved). */
  private readonly mailNow = () => this.postbox?.state();
  /** The version of its newest snapshot, as far as this activation knows (loaded from, or saved since). */
  private snapshotted = 0;
  private wakeRequested = false;
  /** A turn that called `ctx.stop()` succeeded: the activation ends once nothing waits. */
  private stopping = false;
  /** Bound once: what a turn's books carry while the actor is not enlisted. */
  private readonly enlist = () =>
    this.host.reminders.enlist(this.key).then(() => {
      this.enlisted = true;
    });

  constructor(
    readonly key: ActorKey,
    readonly behavior: Behavior,
    private readonly host: ActivationHost,
    handed?: Handed,
  ) {
    this.lastActive = host.clock.now();
    this.load = host.meter.track(key);
    this.activating = handed === undefined && behavior.def.onActivate !== undefined;
    if (handed === undefined) return;
    this.live = handed.live;
    this.reload = false;
    if (handed.order !== undefined && handed.order.length > 0) this.gate = this.makeGate(handed.order);
    if (handed.timers !== undefined && handed.timers.length > 0) this.timerTable().restore(handed.timers);
    if (handed.mail !== undefined) this.postbox = new Postbox(key, host, handed.mail);
  }

  get busy(): boolean {
    return this.running;
  }

  /** Messages waiting here: in the mailbox, waiting for room in it, or kept for their sender's order. */
  get queued(): number {
    return this.mailbox.length + this.mailbox.overflowing + (this.gate?.size ?? 0);
  }

  /** Timers set (a set timer keeps the activation from being passivated). */
  get timerCount(): number {
    return this.timers?.size ?? 0;
  }

  /** The timers with what remains of their delays, for a handoff; undefined when none is set. */
  timerList(): CapturedTimer[] | undefined {
    return this.timers !== undefined && this.timers.size > 0 ? this.timers.capture() : undefined;
  }

  /**
   * Whether a handoff may carry it: loaded, through its onActivate (an adopted actor never runs
   * it) and not stopping (it would go on where it moved).
   */
  get capturable(): boolean {
    return this.live !== undefined && !this.activating && !this.stopping;
  }

  /**
   * Saves a snapshot now if the actor has events beyond its last one (event-sourced; best-effort).
   * Called by the snapshot policy: on passivation, on a handoff (the pause's capture), after a long replay.
   */
  snapshotIfBehind(): void {
    const live = this.live;
    if (live === undefined || live.version <= this.snapshotted || this.behavior.snapshotNow === undefined) return;
    this.behavior.snapshotNow(this.key, live, this.postbox?.state());
    this.snapshotted = live.version;
  }

  /** Outgoing messages not yet acknowledged (they keep the activation from being passivated). */
  get outgoing(): number {
    return this.postbox?.pending ?? 0;
  }

  /** Its messages between actors, for a handoff; undefined when it has none. */
  mailState(): MailState | undefined {
    return this.postbox?.state();
  }

  /** Per-sender order's table (`[sender, next expected]`), for a handoff; undefined when no sender has called. */
  orderTable(): OrderEntry[] | undefined {
    return this.gate?.table();
  }

  /** Queues `p`; with `waitUnder`, behind the messages waiting for room under that capacity (`overflow: "wait"`). */
  enqueue(p: Pending, waitUnder?: number): void {
    // A call back along a chain of asks this actor's waiting turn started: it would wait for that
    // turn, which waits for it. A reentrant type runs it now; any other refuses it at once.
    const chain = p.from?.chain;
    if (chain !== undefined && this.running && chain.some((k) => k.type === this.key.type && k.id === this.key.id)) {
      if (this.behavior.def.kind === "in-memory" && this.behavior.def.reentrant === true && this.live !== undefined) return this.runReentrant(p);
      return p.reject(callCycle(chain, this.key));
    }
    if (p.order !== undefined && this.gate === undefined) this.gate = this.makeGate();
    if (waitUnder === undefined) this.mailbox.push(p);
    else this.mailbox.wait(p, waitUnder);
    this.kick();
  }

  /**
   * Makes room for a newer message (`overflow: "drop-oldest"`): fails the oldest queued message
   * that is not a timer's firing with `err` and takes it out. False when there is none.
   */
  dropOldest(err: unknown): boolean {
    const p = this.mailbox.takeOldest();
    if (p === undefined) return false;
    p.reject(err);
    this.gate?.skipped(p); // it will never run: its sender moves on, as for an expired one
    return true;
  }

  /** Runs a reentrant call now, on the live state, between the awaits of the turn that waits for it. */
  private runReentrant(p: Pending): void {
    const live = this.live!;
    const ctx = this.turnContext(live, p);
    const books: TurnBooks = { pending: 0 };
    const done = (r: TurnResult) => void this.settle(p, live, r, ctx, books);
    this.host.meter.turned(this.load);
    try {
      const result = this.behavior.turn(this.key, live, p.msg, ctx, books);
      if (result instanceof Promise) result.then(done, (err: unknown) => this.failTurn(p, err, ctx));
      else done(result);
    } catch (err) {
      this.failTurn(p, err, ctx);
    }
  }

  /**
   * Takes every waiting message (mailbox and order gate), oldest arrival first, for a pause or a
   * stop. Timer messages stay with their timers: held, to fire again on resume or move as due.
   */
  drainAll(): Pending[] {
    let all = this.mailbox.drain();
    if (this.timers !== undefined) all = this.holdTimerMessages(all);
    if (this.gate === undefined || this.gate.size === 0) return all;
    return [...this.gate.drain(), ...all].sort((x, y) => x.seq - y.seq);
  }

  /** Turns run again after a pause; timers that fired meanwhile fire now. */
  resume(): void {
    this.paused = false;
    this.timers?.releaseHeld();
  }

  /**
   * The activation is dropped by passivation or a runtime stop: cancels its timers and runs
   * onPassivate (its promise, if any, is returned; it never rejects).
   */
  passivate(): Promise<void> | undefined {
    this.drop();
    const def = this.behavior.def;
    if (def.kind === "event-sourced" && def.snapshotPolicy?.onPassivate === true) this.snapshotIfBehind();
    const live = this.live;
    if (def.onPassivate === undefined || live === undefined) return undefined;
    const failed = (err: unknown) => this.host.lifecycleFailed(this, "onPassivate", err);
    try {
      const r = def.onPassivate(live.state as Readonly<unknown>, this.context(live));
      return r instanceof Promise ? r.catch(failed) : undefined;
    } catch (err) {
      failed(err);
      return undefined;
    }
  }

  /** The activation is dropped without its hook (it moved, or failed to load): cancels its timers, sends nothing more. */
  drop(): void {
    this.timers?.clear();
    this.postbox?.stop();
  }

  /** Loads the actor and runs onActivate without waiting for a message (unless paused: then on resume). */
  start(): void {
    if (!this.reload) return; // loaded already
    this.wakeRequested = true;
    this.kick();
  }

  /** Starts the loop unless it runs or the actor is paused. */
  kick(): void {
    if (this.running || this.paused || !this.hasWork()) return;
    this.running = true;
    this.pump();
  }

  /** Resolves once no turn is in flight (immediately when idle). */
  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.paused) {
      if (this.reload) {
        if (!this.hasWork()) break;
        this.wakeRequested = false;
        let loaded: Live | Promise<Live>;
        try {
          loaded = this.behavior.load(this.key);
        } catch (err) {
          this.failLoad(err);
          return;
        }
        if (loaded instanceof Promise) {
          loaded.then(
            (live) => this.loaded(live),
            (err) => this.failLoad(err),
          );
          return;
        }
        this.loaded(loaded, false);
        continue;
      }
      if (this.activating) {
        this.activating = false;
        const hook = this.activate();
        if (hook !== undefined) {
          hook.then(() => this.pump());
          return;
        }
      }
      const p = this.gate !== undefined ? this.gate.next(this.mailbox) : this.mailbox.shift();
      if (p === undefined) break;
      if (p.settled) {
        this.gate?.skipped(p); // expired while it waited
        continue;
      }
      if (p.timer !== undefined && this.timers?.take(p.timer) !== true) {
        p.resolve(undefined); // its timer was replaced or cancelled since it fired
        continue;
      }
      const origin = p.from?.origin;
      if (origin !== undefined && this.postbox?.applied(origin) === true) {
        p.resolve(undefined); // a copy of a message from another actor that this one has applied
        continue;
      }
      const live = this.live!;
      const ctx = this.turnContext(live, p);
      const books: TurnBooks = {
        applied: origin,
        acked: this.postbox?.ackToRecord(),
        pending: this.postbox?.pending ?? 0,
        enlist: this.enlisted || this.behavior.def.kind !== "event-sourced" ? undefined : this.enlist,
      };
      let result: TurnResult | Promise<TurnResult>;
      this.host.meter.turned(this.load);
      try {
        result = this.behavior.turn(this.key, live, p.msg, ctx, books);
      } catch (err) {
        this.failTurn(p, err, ctx);
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          (r) => {
            const storing = this.settle(p, live, r, ctx, books);
            if (storing === undefined) this.pump();
            else storing.then(() => this.pump());
          },
          (err) => {
            this.failTurn(p, err, ctx);
            this.pump();
          },
        );
        return;
      }
      const storing = this.settle(p, live, result, ctx, books);
      if (storing !== undefined) {
        storing.then(() => this.pump());
        return;
      }
    }
    this.running = false;
    this.lastActive = this.host.clock.now();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
    if (this.stopping && !this.paused && this.queued === 0) this.host.actorStopped(this);
  }

  private hasWork(): boolean {
    return this.mailbox.length > 0 || this.gate?.hasReady === true || this.wakeRequested;
  }

  /**
   * A wake-up for its outbox: loads the actor if it is not loaded (which sends its unacknowledged
   * messages again) and says whether any are still waiting. With none, and no turn running, the
   * actor is no longer enlisted: its next sending turn enlists it again.
   */
  async wake(): Promise<boolean> {
    if (this.reload) {
      this.wakeRequested = true;
      this.kick();
    }
    await this.whenIdle();
    // Not loaded (held by a move, or the load failed): it may hold messages; try again later.
    if (this.reload || this.busy || this.outgoing > 0) return true;
    this.enlisted = false;
    return false;
  }

  private makeGate(table?: readonly OrderEntry[]): OrderGate {
    return new OrderGate(this.host.clock, this.host.orderOptions, () => this.kick(), table);
  }

  private loaded(live: Live, resume = true): void {
    this.live = { state: live.state, version: live.version };
    this.reload = false;
    this.snapshotted = live.loadedFrom?.snapshot ?? 0;
    const def = this.behavior.def;
    if (def.kind === "event-sourced" && def.snapshotPolicy?.adaptive === true && def.snapshotEvery > 0) {
      // A long replay: the snapshots lag behind this journal, so the next load starts from here.
      if ((live.loadedFrom?.replayed ?? 0) >= Math.max(1, Math.ceil(def.snapshotEvery / 4))) this.snapshotIfBehind();
    }
    // What the journal says replaces what was in memory (a reload after a failed turn too).
    if (live.mail !== undefined || this.postbox !== undefined) {
      this.postbox?.stop();
      this.postbox = live.mail === undefined ? undefined : new Postbox(this.key, this.host, live.mail);
    }
    if (resume) this.pump();
  }

  private context(live: Live): ActorContext {
    const { type, id } = this.key;
    return { type, id, node: this.host.nodeId, version: live.version, now: this.host.clock.now() };
  }

  /** The context of a turn for `p` (or of onActivate, without `p`). */
  private turnContext(live: Live, p?: Pending): TurnCtx {
    const { type, id } = this.key;
    const h = this.host;
    const deadline = p?.deadline ?? Number.POSITIVE_INFINITY;
    const def = this.behavior.def;
    const validate = def.validate;
    const ctx = new TurnCtx(
      type,
      id,
      h.nodeId,
      live.version,
      h.clock.now(),
      new TurnTimers(this.timers),
      h,
      deadline,
      p?.from?.chain,
      p !== undefined,
      validate,
      def.singleton !== true,
    );
    ctx.outbox = this.postbox;
    return ctx;
  }

  /** After a turn or onActivate that succeeded: if it called `ctx.stop()`, the activation ends once nothing waits. */
  private stopIfAsked(ctx: TurnCtx): void {
    if (!ctx.stopAsked || this.stopping) return;
    this.stopping = true;
    this.host.stopCommitted(this);
  }

  private timerTable(): TimerTable {
    this.timers ??= new TimerTable(this.host.clock, (tag, msg) => this.timerFired(tag, msg));
    return this.timers;
  }

  /** A timer is due: its message joins the mailbox (checked by the type's validate first), unless the actor is paused. */
  private timerFired(tag: TimerTag, msg: unknown): void {
    const timers = this.timers!;
    if (this.paused) return timers.hold(tag);
    const over = () => timers.done(tag);
    let valid: unknown;
    try {
      valid = this.behavior.def.validate(msg);
    } catch (err) {
      this.host.lifecycleFailed(this, "timer", err);
      if (timers.take(tag)) over();
      return;
    }
    // Not counted against the mailbox's capacity: a timer has at most one firing waiting.
    this.mailbox.push(new Pending(this.key.type, this.key.id, valid, Number.POSITIVE_INFINITY, { ok: over, fail: over }, undefined, tag));
    this.kick();
  }

  /** Keeps timer messages out of what a pause or a stop takes: their timers hold them instead. */
  private holdTimerMessages(all: Pending[]): Pending[] {
    if (!all.some((p) => p.timer !== undefined)) return all;
    for (const p of all) if (p.timer !== undefined) this.timers?.hold(p.timer);
    return all.filter((p) => p.timer === undefined);
  }

  /** Runs onActivate; its timer starts apply if it succeeds. A promise when the hook returned one (it never rejects). */
  private activate(): Promise<void> | undefined {
    const live = this.live!;
    const ctx = this.turnContext(live);
    const timers = ctx.timers;
    const done = (): Promise<void> | undefined => {
      const reminders = ctx.reminderChanges;
      ctx.close();
      if (timers.changes !== undefined) this.timerTable().apply(timers.changes);
      this.stopIfAsked(ctx);
      if (reminders === undefined) return undefined;
      return this.host.reminders.apply(this.key, reminders).catch((err: unknown) => this.host.lifecycleFailed(this, "onActivate", err));
    };
    const failed = (err: unknown) => {
      ctx.close();
      this.host.lifecycleFailed(this, "onActivate", err);
    };
    try {
      const r = this.behavior.def.onActivate?.(live.state as Readonly<unknown>, ctx);
      if (r instanceof Promise) return r.then(done, failed);
    } catch (err) {
      failed(err);
      return undefined;
    }
    return done();
  }

  /**
   * A turn succeeded: applied now, or — when it changed reminders — once they are stored (a
   * promise that never rejects; a storage failure fails the caller, the turn stays applied).
   */
  private settle(p: Pending, before: Live, r: TurnResult, ctx: TurnCtx, books: TurnBooks): Promise<void> | undefined {
    const changes = ctx.reminderChanges;
    if (changes === undefined) {
      this.applied(p, before, r, ctx, books);
      return undefined;
    }
    ctx.close();
    return this.host.reminders.apply(this.key, changes).then(
      () => this.applied(p, before, r, ctx, books),
      (err: unknown) => this.applied(p, before, r, ctx, books, err),
    );
  }

  private applied(p: Pending, before: Live, r: TurnResult, ctx: TurnCtx, books: TurnBooks, storeError?: unknown): void {
    // An in-memory turn counts one more than the state it ends on (a reentrant turn may have run meanwhile).
    const version = this.behavior.def.kind === "in-memory" && this.live !== undefined ? this.live.version + 1 : r.version;
    this.live = { state: r.state, version };
    ctx.close();
    const timers = ctx.timers;
    if (timers.changes !== undefined) this.timerTable().apply(timers.changes);
    this.settleMail(r, ctx.sent, books, ctx.abandoned);
    if (r.persisted > 0 && this.behavior.afterPersist?.(this.key, this.live, before.version, this.mailNow, this.heat(r.persisted)) === true) {
      this.snapshotted = this.live.version;
    }
    this.gate?.done(p);
    if (storeError === undefined) p.resolve(r.reply);
    else p.reject(storeError);
    this.stopIfAsked(ctx);
  }

  /** A turn was applied: its origin is marked, its messages go out (an event-sourced one's, stored with its events, until acknowledged). */
  private settleMail(r: TurnResult, sent: readonly Sent[] | undefined, books: TurnBooks, abandoned: readonly ActorKey[] | undefined): void {
    if (books.applied === undefined && sent === undefined && books.acked === undefined && abandoned === undefined) return;
    if (r.persisted > 0 && books.acked !== undefined) this.postbox?.recordedAck(books.acked);
    if (books.applied !== undefined) this.mail().markApplied(books.applied);
    // Before this turn's own messages: an abandon covers those of earlier batches only.
    if (abandoned !== undefined && r.persisted > 0) for (const k of abandoned) this.postbox?.abandon(k.type, k.id);
    if (sent === undefined) return;
    if (this.behavior.def.kind === "in-memory") return this.host.sendOnce(this.key, sent);
    this.mail().add(sent.map((m, i) => ({ type: m.type, id: m.id, msg: m.msg, tell: m.tell, v: r.version, i })));
  }

  private mail(): Postbox {
    this.postbox ??= new Postbox(this.key, this.host);
    return this.postbox;
  }

  private failTurn(p: Pending, err: unknown, ctx?: TurnCtx): void {
    ctx?.close(); // its timer changes and messages are dropped with it
    this.gate?.done(p, err);
    p.reject(err);
    if (ShoalError.is(err, ErrorCode.REJECTED) || ShoalError.is(err, ErrorCode.BAD_REQUEST)) return;
    // A conflict, a store failure (maybe persisted, maybe not) or a bug in evolve: what we hold
    // may differ from the journal, so the next turn starts from the store again.
    if (this.behavior.def.kind === "event-sourced") this.reload = true;
    if (!ShoalError.is(err, ErrorCode.CONFLICT)) this.host.turnFailed(this, err);
  }

  private failLoad(err: unknown): void {
    for (const p of this.drainAll()) p.reject(err);
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
    this.host.loadFailed(this, err);
  }
}
