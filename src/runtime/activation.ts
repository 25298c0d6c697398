import { ErrorCode, ShoalError } from "../errors.js";
import type { Clock } from "../clock.js";
import type { ActorKey } from "../store/types.js";
import type { Behavior, Live, TurnResult } from "./behavior.js";
import { OrderGate } from "./order-gate.js";
import type { Pending } from "./pending.js";
import { Queue } from "./queue.js";
import type { OrderEntry, SenderOrderOptions } from "./sender-order.js";

/** What an activation needs from its runtime. */
export interface ActivationHost {
  readonly nodeId: string;
  readonly clock: Clock;
  /** The load failed: every queued message has been rejected; the runtime forgets the activation. */
  loadFailed(activation: Activation, err: unknown): void;
  /** A turn threw something that is not a domain answer: worth logging. */
  turnFailed(activation: Activation, err: unknown): void;
  /** Bounds and gap timeout of per-sender order. */
  readonly orderOptions: SenderOrderOptions;
}

/**
 * One actor in memory on this node: its state, version and mailbox. Turns run one at a time,
 * in arrival order. The loop stays synchronous while turns are (warm queries, in-memory
 * actors) and continues after a promise when a turn has to load or persist.
 */
export class Activation {
  readonly mailbox = new Queue<Pending>();
  live: Live | undefined;
  lastActive: number;
  paused = false;
  private running = false;
  private reload = true;
  private idleWaiters: Array<() => void> = [];
  /** Per-sender order, made when the first message with a sender comes (or with a handed-over table). */
  private gate: OrderGate | undefined;

  constructor(
    readonly key: ActorKey,
    readonly behavior: Behavior,
    private readonly host: ActivationHost,
    restored?: Live,
    order?: readonly OrderEntry[],
  ) {
    this.lastActive = host.clock.now();
    if (restored !== undefined) {
      this.live = restored;
      this.reload = false;
    }
    if (order !== undefined && order.length > 0) this.gate = this.makeGate(order);
  }

  get busy(): boolean {
    return this.running;
  }

  /** Messages waiting here: in the mailbox, or kept for their sender's order. */
  get queued(): number {
    return this.mailbox.length + (this.gate?.size ?? 0);
  }

  /** Per-sender order's table (`[sender, next expected]`), for a handoff; undefined when no sender has called. */
  orderTable(): OrderEntry[] | undefined {
    return this.gate?.table();
  }

  enqueue(p: Pending): void {
    if (p.order !== undefined && this.gate === undefined) this.gate = this.makeGate();
    this.mailbox.push(p);
    this.kick();
  }

  /** Takes every waiting message (mailbox and order gate), oldest arrival first, for a pause or a stop. */
  drainAll(): Pending[] {
    const all = this.mailbox.drain();
    if (this.gate === undefined || this.gate.size === 0) return all;
    return [...this.gate.drain(), ...all].sort((x, y) => x.seq - y.seq);
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
      const p = this.gate !== undefined ? this.gate.next(this.mailbox) : this.mailbox.shift();
      if (p === undefined) break;
      if (p.settled) {
        this.gate?.skipped(p); // expired while it waited
        continue;
      }
      const live = this.live!;
      let result: TurnResult | Promise<TurnResult>;
      try {
        result = this.behavior.turn(this.key, live, p.msg, {
          type: this.key.type,
          id: this.key.id,
          node: this.host.nodeId,
          version: live.version,
          now: this.host.clock.now(),
        });
      } catch (err) {
        this.failTurn(p, err);
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          (r) => {
            this.applied(p, live, r);
            this.pump();
          },
          (err) => {
            this.failTurn(p, err);
            this.pump();
          },
        );
        return;
      }
      this.applied(p, live, result);
    }
    this.running = false;
    this.lastActive = this.host.clock.now();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private hasWork(): boolean {
    return this.mailbox.length > 0 || this.gate?.hasReady === true;
  }

  private makeGate(table?: readonly OrderEntry[]): OrderGate {
    return new OrderGate(this.host.clock, this.host.orderOptions, () => this.kick(), table);
  }

  private loaded(live: Live, resume = true): void {
    this.live = live;
    this.reload = false;
    if (resume) this.pump();
  }

  private applied(p: Pending, before: Live, r: TurnResult): void {
    this.live = { state: r.state, version: r.version };
    if (r.persisted > 0) this.behavior.afterPersist?.(this.key, this.live, before.version);
    this.gate?.done(p);
    p.resolve(r.reply);
  }

  private failTurn(p: Pending, err: unknown): void {
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
