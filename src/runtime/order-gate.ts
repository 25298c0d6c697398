import type { Clock, TimerHandle } from "../clock.js";
import { ErrorCode, OutOfOrderError, ShoalError } from "../errors.js";
import type { Pending } from "./pending.js";
import type { Queue } from "./queue.js";
import { type OrderEntry, SenderOrder, type SenderOrderOptions } from "./sender-order.js";

/** Per-sender order's defaults: 1024 senders per actor, forgotten after 5 min idle, a 250 ms gap timeout. */
export const defaultOrderOptions: SenderOrderOptions = { maxSenders: 1024, forgetAfter: 5 * 60_000, gapTimeout: 250 };

/** The runtime's `senderOrder` option over the defaults (a field left undefined keeps its default). */
export function orderOptions(given: Partial<SenderOrderOptions> | undefined): SenderOrderOptions {
  return {
    maxSenders: given?.maxSenders ?? defaultOrderOptions.maxSenders,
    forgetAfter: given?.forgetAfter ?? defaultOrderOptions.forgetAfter,
    gapTimeout: given?.gapTimeout ?? defaultOrderOptions.gapTimeout,
  };
}

/**
 * Failures after which a message was certainly not applied and is retried (by the router, on a
 * newer map): its sender's expectation stays on it, so the retry is not refused as late.
 */
const retried = new Set<string>([ErrorCode.ACTOR_MOVED, ErrorCode.UNAVAILABLE, ErrorCode.CONFLICT]);

/**
 * An activation's gate for messages that carry a sender and sequence number: between its
 * mailbox and its turns, it lets each through in its sender's order ({@link SenderOrder}),
 * keeps early ones until their gap is filled or timed out (one timer per activation), and
 * refuses late ones with OUT_OF_ORDER. Messages without a sender pass as they came.
 */
export class OrderGate {
  private readonly order: SenderOrder<Pending>;
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    opts: SenderOrderOptions,
    /** Called when a gap timed out and released a message: the activation runs it. */
    private readonly wake: () => void,
    table?: readonly OrderEntry[],
  ) {
    this.order = new SenderOrder(opts);
    if (table !== undefined) this.order.import(table, clock.now());
  }

  /** Messages kept here (held for a gap or released and not yet run). */
  get size(): number {
    return this.order.size;
  }

  /** Whether a released message waits to run. */
  get hasReady(): boolean {
    return this.order.hasReady;
  }

  /**
   * The next message whose turn it is: a released one first, else the mailbox's next that its
   * sender's order lets through (early ones are kept, late ones refused on the way).
   */
  next(mailbox: Queue<Pending>): Pending | undefined {
    for (;;) {
      const released = this.order.takeReady();
      if (released !== undefined) return released.item;
      const p = mailbox.shift();
      if (p === undefined || p.order === undefined || p.settled) return p;
      const { sender, seq, settled } = p.order;
      const verdict = this.order.admit(sender, seq, settled, p, this.clock.now(), p.deadline);
      for (const late of this.order.takeDropped()) this.refuse(late);
      if (verdict === "run") return p;
      if (verdict === "held") this.arm();
      else this.refuse(p);
    }
  }

  private refuse(p: Pending): void {
    const { sender, seq } = p.order!;
    const expected = this.order.expected(sender);
    p.reject(
      new OutOfOrderError(`message ${seq} of sender ${sender} came after a later one was applied (expected ${expected} or later)`, {
        details: { sender, seq, expected },
      }),
    );
  }

  /** `p`'s turn is over (`err`: how it failed): its sender's next message is expected, unless it is retried. */
  done(p: Pending, err?: unknown): void {
    if (p.order === undefined) return;
    if (err !== undefined && ShoalError.is(err) && retried.has(err.code)) return;
    this.order.applied(p.order.sender, p.order.seq, this.clock.now());
  }

  /** `p` expired before its turn: if it was the expected one, its sender moves on without it. */
  skipped(p: Pending): void {
    const o = p.order;
    if (o !== undefined && this.order.expected(o.sender) === o.seq) this.order.applied(o.sender, o.seq, this.clock.now());
  }

  /** Every message kept here (for a pause, a failed load or a stop); the gap timer stops. */
  drain(): Pending[] {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    return this.order.drain();
  }

  /** The table of senders and the next number each is expected to send, for a handoff. */
  table(): OrderEntry[] {
    return this.order.export();
  }

  /** One timer, at the earliest gap timeout. */
  private arm(): void {
    const at = this.order.nextRelease();
    if (at === undefined || at >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.order.release(this.clock.now());
    this.arm();
    if (this.order.hasReady) this.wake();
  }
}
