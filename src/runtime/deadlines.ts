import type { Clock, TimerHandle } from "../clock.js";

/** Something that can expire: `expire()` is called once its deadline passes, unless settled first. */
export interface Expirable {
  readonly deadline: number;
  /** True once answered; settled entries are dropped lazily. */
  readonly settled: boolean;
  expire(): void;
}

/**
 * Ask timeouts without a timer per ask: a min-heap on deadlines and one clock timer armed for
 * the earliest. Asks with the same timeout arrive in deadline order, so the timer is rarely
 * re-armed; settled entries are skipped when they reach the top.
 */
export class Deadlines {
  private heap: Expirable[] = [];
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.length;
  }

  add(entry: Expirable): void {
    if (!Number.isFinite(entry.deadline)) return;
    // Most asks are answered long before they expire: shed answered ones as we go, so the heap
    // holds roughly what is really pending rather than a timeout's worth of history.
    while (this.heap.length > 0 && this.heap[0]!.settled) this.pop();
    this.heap.push(entry);
    this.up(this.heap.length - 1);
    if (entry.deadline < this.armedAt) this.arm(entry.deadline);
  }

  /** Cancels the timer; pending entries are left to their owners. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = Infinity;
    this.heap = [];
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
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (top.settled) {
        this.pop();
        continue;
      }
      if (top.deadline > now) {
        this.arm(top.deadline);
        return;
      }
      this.pop();
      top.expire();
    }
  }

  private pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.deadline <= h[i]!.deadline) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
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
