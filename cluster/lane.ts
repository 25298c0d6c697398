import type { Mode } from "./wire.js";

/** What a {@link Lane} needs to know of a message. */
export interface LaneEntry {
  /** Its place in the order messages were started on this node (a retry keeps it). */
  readonly seq: number;
  readonly mode: Mode;
  /** Sent at least once: a retry is not held back by the tell bound again. */
  readonly admitted: boolean;
  /** The lane it waits in, if it does (set and cleared by the lane). */
  waitingIn: object | undefined;
}

/**
 * Why a message cannot leave its lane now: `"full"` — a tell, and the lane's tells in flight
 * plus the older ones waiting are at the bound; `"behind"` — older messages of the lane wait, or
 * messages are in flight to another owner than this one's.
 */
export type Held = "full" | "behind";

/**
 * The messages of one shard started on this node: those in flight (sent, not yet answered),
 * to whom, and those that have to wait, in the order they were started.
 *
 * A message waits while an older one of the lane waits (so it never overtakes it), while
 * messages are in flight to another owner than its own (a message for a new owner goes once the
 * old owner has answered every one: the old owner forwards its stragglers first), and — a tell
 * not yet sent — while `bound` tells are in flight. Whenever a message in flight is answered,
 * and when one waiting fails (it expired), the lane lets waiting messages go from the front, synchronously
 * and in order, until the first that still has to wait ({@link resume} says which).
 */
export class Lane<M extends LaneEntry> {
  /** The owner the messages in flight went to. */
  target: string | undefined;
  /** Messages in flight. */
  outstanding = 0;
  /** Tells among them. */
  tells = 0;
  /** Waiting messages, oldest first, from {@link head}; entries that expired are skipped. */
  private waiting: Array<M | undefined> = [];
  private head = 0;
  /** Tells waiting. */
  private waitingTells = 0;
  /** Letting waiting messages go (an answer that comes synchronously meanwhile only counts). */
  private draining = false;

  /**
   * `resume(m)` tries to send `m`, the oldest waiting message, now taken out: true when it left
   * the lane (sent, failed, or waiting for something else), false when it still has to wait
   * here (it is put back in front).
   */
  constructor(private readonly resume: (m: M) => boolean) {}

  /** Messages waiting (expired ones not yet skipped included). */
  get size(): number {
    return this.waiting.length - this.head;
  }

  /** Whether `m`, bound for `owner`, has to wait; `bound`: most tells in flight. */
  holds(m: M, owner: string, bound: number): Held | undefined {
    const oldest = this.oldest();
    const behind = oldest !== undefined && oldest.seq < m.seq;
    if (m.mode === "tell" && !m.admitted && this.tells + (behind ? this.waitingTells : 0) >= bound) return "full";
    if (behind || (this.outstanding > 0 && this.target !== owner)) return "behind";
    return undefined;
  }

  /** `m` is sent to `owner`: in flight until {@link done}. */
  take(m: M, owner: string): void {
    this.target = owner;
    this.outstanding++;
    if (m.mode === "tell") this.tells++;
  }

  /** A message in flight was answered (or failed): the waiting ones may go. */
  done(m: M): void {
    this.outstanding--;
    if (m.mode === "tell") this.tells--;
    this.wake();
  }

  /** `m` waits, in its place by {@link LaneEntry.seq} (a retry may be older than what waits). */
  park(m: M): void {
    m.waitingIn = this;
    if (m.mode === "tell") this.waitingTells++;
    const w = this.waiting;
    let i = w.length;
    while (i > this.head && w[i - 1]!.seq > m.seq) i--;
    if (i === w.length) w.push(m);
    else w.splice(i, 0, m);
  }

  /** `m`, waiting here, failed for good (it expired): it is skipped, and what waited behind it may go. */
  leave(m: M): void {
    if (m.waitingIn !== this) return;
    m.waitingIn = undefined;
    if (m.mode === "tell") this.waitingTells--;
    this.wake();
  }

  /** Lets waiting messages go from the front, in order, until one still has to wait. */
  wake(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let m = this.shift(); m !== undefined; m = this.shift()) {
        if (this.resume(m)) continue;
        this.unshift(m);
        break;
      }
    } finally {
      this.draining = false;
    }
  }

  /** The oldest message still waiting (expired ones at the front dropped). */
  private oldest(): M | undefined {
    const w = this.waiting;
    while (this.head < w.length && w[this.head]!.waitingIn === undefined) w[this.head++] = undefined;
    if (this.head === w.length && this.head > 0) {
      this.waiting = [];
      this.head = 0;
    }
    return this.waiting[this.head];
  }

  private shift(): M | undefined {
    const m = this.oldest();
    if (m === undefined) return undefined;
    this.waiting[this.head++] = undefined;
    m.waitingIn = undefined;
    if (m.mode === "tell") this.waitingTells--;
    if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    return m;
  }

  private unshift(m: M): void {
    m.waitingIn = this;
    if (m.mode === "tell") this.waitingTells++;
    if (this.head > 0) this.waiting[--this.head] = m;
    else this.waiting.unshift(m);
  }
}
