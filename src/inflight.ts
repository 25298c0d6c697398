import type { Clock } from "./clock.js";

/** Counts requests being answered, so a stopping server can wait (bounded) until it owes none. */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];
  private readonly labels = new Set<{ label: string | (() => string) }>();

  get size(): number {
    return this.count;
  }

  /** Tracks `answer` until it settles; returns it unchanged. `label` may be a function, called only if a stop has to wait. */
  track<T>(answer: Promise<T>, label: string | (() => string) = ""): Promise<T> {
    const entry = this.begin(label);
    const done = () => this.end(entry);
    answer.then(done, done);
    return answer;
  }

  /** Counts one request as in flight until {@link end} is called with what this returns (once). */
  begin(label: string | (() => string) = ""): object {
    this.count++;
    const entry = { label };
    this.labels.add(entry);
    return entry;
  }

  end(entry: object): void {
    if (!this.labels.delete(entry as { label: string })) return;
    this.count--;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Labels of what is still in flight (for a log line when a stop has to wait). */
  pending(max = 10): string[] {
    return [...this.labels].slice(0, max).map((e) => (typeof e.label === "string" ? e.label : e.label()));
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
