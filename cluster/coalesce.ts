/**
 * Runs `fn` once the current job and every promise reaction it set off have run — no timer.
 *
 * A microtask that queues a `process.nextTick`: Node runs ticks only after V8 has drained the
 * whole microtask queue, including reactions queued while draining. So a flush scheduled here
 * sees everything the current event (a socket read, a batch of replies resolving 128 awaiting
 * callers) produced, and still runs before the event loop moves on to any I/O or timer. That is
 * the bound the coalescers below rely on: a message waits for the rest of its own job, never
 * for time.
 */
export function afterJob(fn: () => void): void {
  queueMicrotask(() => process.nextTick(fn));
}

/**
 * Collects items per key and hands each key's items over in one call, in the order they were
 * added: at the end of the current job ({@link afterJob}), or at once when a key holds
 * `maxItems`. `send` must not throw (a throw is caught and reported through `onError`).
 */
export class Coalescer<K, T> {
  private pending = new Map<K, T[]>();
  private scheduled = false;

  constructor(
    private readonly send: (key: K, items: T[]) => void,
    private readonly maxItems: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  add(key: K, item: T): void {
    let items = this.pending.get(key);
    if (items === undefined) {
      items = [];
      this.pending.set(key, items);
    }
    items.push(item);
    if (items.length >= this.maxItems) {
      this.pending.delete(key);
      this.deliver(key, items);
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      afterJob(this.flush);
    }
  }

  /** Sends everything collected so far. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const all = this.pending;
    this.pending = new Map();
    for (const [key, items] of all) this.deliver(key, items);
  };

  private deliver(key: K, items: T[]): void {
    try {
      this.send(key, items);
    } catch (err) {
      this.onError(err);
    }
  }
}
