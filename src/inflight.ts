import type { Clock } from "./clock.js";

/** Something in flight that can say what it is (asked only when a stop has to wait). */
export interface Described {
  describe(): string;
}

/** Counts requests being answered, so a stopping server can wait (bounded) until it owes none. */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];
  private readonly entries = new Set<Described>();

  get size(): number {
    return this.count;
  }

  /** Tracks `answer` until it settles; returns it unchanged. `label` may be a function, called only if a stop has to wait. */
  track<T>(answer: Promise<T>, label: string | (() => string) = ""): Promise<T> {
    const entry: Described = { describe: typeof label === "string" ? () => label : label };
    this.begin(entry);
    const done = () => this.end(entry);
    answer.then(done, done);
    return answer;
  }

  /** Counts `entry` as in flight until {@link end} is called with it (a second end is ignored). */
  begin(entry: Described): void {
    this.count++;
    this.entries.add(entry);
  }

  end(entry: Described): void {
    if (!this.entries.delete(entry)) return;
    this.count--;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Labels of what is still in flight (for a log line when a stop has to wait). */
  pending(max = 10): string[] {
    return [...this.entries].slice(0, max).map((e) => e.describe());
  }

  /** Resolves true once nothing is in flight, false if `ms` passes first. */
  settled(clock: Clock, ms: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = clock.setTimeout(() => resolve(this.count === 0), ms);
      this.waiters.push(() => {
        t.cancel();
        resolve(true);
      });
    });
  }
}
