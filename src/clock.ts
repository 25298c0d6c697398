/**
 * Time, injected. Runtime and cluster code never call `Date.now` or `setTimeout` directly, so
 * tests drive a {@link ManualClock} instead of sleeping.
 */
/** A timer set with {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Stops the timer if it has not fired; harmless after it fired or a second time. */
  cancel(): void;
}

/** Where Shoal reads the time and sets timers; pass one to a runtime or node to control time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds unless cancelled. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** `Date.now` and `setTimeout`. Its timers never keep the process alive on their own (`unref`). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // Timers of the runtime never keep a process alive on their own.
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that only moves when told to. Timers fire in due order inside {@link advance}. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void; live: boolean }> = [];

  /** Starts at `start`, ms since the epoch (default 1 700 000 000 000, in November 2023). */
  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  /** Moves time forward by `ms`, firing due timers in order (timers they set fire too if due). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      let next: (typeof this.timers)[number] | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      next.live = false;
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }

  /** Number of timers still waiting. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
}
