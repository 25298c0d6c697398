import type { Clock, TimerHandle } from "../clock.js";

/** Something that can expire: `expire()` is called once its deadline passes, unless settled first. */
export interface Expirable {
  readonly deadline: number;
  /** True once answered; settled entries are dropped lazily. */
  readonly settled: boolean;
  expire(): void;
}

/**
 * Ask timeouts without a timer per ask: one clock timer, armed for the earliest deadline.
 *
 * Asks with one timeout arrive in deadline order (the clock only moves forward), so most
 * entries go to the back of a queue and leave from its front: O(1) each way. An entry due
 * before the queue's last one (a shorter timeout than the asks before it) goes to a min-heap
 * instead. Settled entries are dropped lazily, as they reach the front of either, and some on
 * every add, so both hold roughly what is really pending rather than a timeout's worth of
 * history.
 */
export class Deadlines {
  private queue: Array<Expirable | undefined> = [];
  /** Index of the queue's front; the slots before it are spent (and cleared, so they hold nothing alive). */
  private head = 0;
  private heap: Expirable[] = [];
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;

  constructor(private readonly clock: Clock) {}

  /** Entries held, settled or not. */
  get size(): number {
    return this.queue.length - this.head + this.heap.length;
  }

  add(entry: Expirable): void {
    if (!Number.isFinite(entry.deadline)) return;
    this.shed();
    const q = this.queue;
    if (q.length === this.head || q[q.length - 1]!.deadline <= entry.deadline) q.push(entry);
    else this.push(entry);
    if (entry.deadline < this.armedAt) this.arm(entry.deadline);
  }

  /** Cancels the timer; pending entries are left to their owners. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = Infinity;
    this.queue = [];
    this.head = 0;
    this.heap = [];
  }

  /** Drops settled entries from the front of the queue and the top of the heap. */
  private shed(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.settled) q[this.head++] = undefined;
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    while (this.heap.length > 0 && this.heap[0]!.settled) this.pop();
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.armedAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    for (;;) {
      this.shed();
      const front = this.head < this.queue.length ? this.queue[this.head]! : undefined;
      const top = this.heap[0];
      const fromHeap = top !== undefined && (front === undefined || top.deadline < front.deadline);
      const next = fromHeap ? top : front;
      if (next === undefined) return;
      if (next.deadline > now) {
        this.arm(next.deadline);
        return;
      }
      if (fromHeap) this.pop();
      else this.queue[this.head++] = undefined;
      next.expire();
    }
  }

  private push(entry: Expirable): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.deadline <= h[i]!.deadline) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.deadline < h[m]!.deadline) m = l;
      if (r < h.length && h[r]!.deadline < h[m]!.deadline) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
