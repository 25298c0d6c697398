import { afterJob } from "../src/after-job.js";
import { BATCH_HEADER_BYTES, BatchBuffer } from "./batch-buffer.js";

export interface CoalescerLimits {
  /** Most entries in one batch. */
  maxItems: number;
  /**
   * A batch this many bytes big leaves at once instead of at the end of the job: a large window
   * then streams as several messages, and the peer starts on the first while the rest are built.
   */
  flushBytes: number;
  /** Largest message in bytes (read each time: the server's limit may change on reconnect). */
  maxBytes: () => number;
}

/**
 * Collects entries per key (a peer, a reply subject) and sends each key's batch as one
 * MessagePack array: at the end of the current job ({@link afterJob}), or sooner when it reaches
 * `maxItems` or `flushBytes`, or before an entry that would push it past `maxBytes`. Each entry
 * is encoded once, when added, straight into its batch's bytes. Entries of one key are sent in
 * the order they were added. `send` must not throw (a throw is caught and given to `onError`).
 */
export class Coalescer<K, T> {
  private pending = new Map<K, { buf: BatchBuffer; items: T[] }>();
  private readonly spare: BatchBuffer[] = [];
  private scheduled = false;

  constructor(
    /** Encodes one entry; the bytes may be a view that the next call overwrites. */
    private readonly encode: (entry: unknown) => Uint8Array,
    private readonly send: (key: K, items: T[], bytes: Uint8Array) => void,
    private readonly limits: CoalescerLimits,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * Adds `item`, whose wire form is `entry`. Returns 0, or — when the entry alone is too big for
   * a message — its encoded size, and adds nothing. Throws what `encode` throws (nothing added).
   */
  add(key: K, item: T, entry: unknown): number {
    const bytes = this.encode(entry);
    const max = this.limits.maxBytes();
    if (bytes.length + BATCH_HEADER_BYTES > max) return bytes.length;
    let p = this.pending.get(key);
    if (p !== undefined && p.buf.size + bytes.length > max) {
      this.deliver(key, p);
      p = undefined;
    }
    if (p === undefined) {
      p = { buf: this.spare.pop() ?? new BatchBuffer(), items: [] };
      this.pending.set(key, p);
    }
    p.buf.append(bytes);
    p.items.push(item);
    if (p.items.length >= this.limits.maxItems || p.buf.size >= this.limits.flushBytes) {
      this.deliver(key, p);
    } else if (!this.scheduled) {
      this.scheduled = true;
      afterJob(this.flush);
    }
    return 0;
  }

  /** Sends everything collected so far. */
  readonly flush = (): void => {
    this.scheduled = false;
    for (const [key, p] of this.pending) this.deliver(key, p);
  };

  /** Takes everything collected and not yet sent, without sending it: the items, oldest first per key. */
  discard(): T[] {
    const items: T[] = [];
    for (const p of this.pending.values()) {
      items.push(...p.items);
      p.buf.take();
    }
    this.pending.clear();
    return items;
  }

  private deliver(key: K, p: { buf: BatchBuffer; items: T[] }): void {
    this.pending.delete(key);
    const bytes = p.buf.take();
    if (this.spare.length < 8) this.spare.push(p.buf);
    try {
      this.send(key, p.items, bytes);
    } catch (err) {
      this.onError(err);
    }
  }
}
