import type { Pending } from "./pending.js";
import { Queue } from "./queue.js";

/**
 * An activation's mailbox: the messages queued for its turns, oldest first, and — for a type
 * whose `overflow` is `"wait"` — those that found it full and wait for room, in arrival order.
 * A waiting message moves into the mailbox as soon as the mailbox alone holds fewer than the
 * capacity it waits under: each time a message is taken, and at once when it arrives to room
 * (messages the order gate keeps aside count against the capacity when a message arrives, but
 * never hold a waiting one back: it may be the very message the gate waits for). One that timed
 * out while it waited is dropped on the way (its caller has heard TIMEOUT).
 */
export class Mailbox extends Queue<Pending> {
  private waiting: Queue<Pending> | undefined;
  /** The capacity waiting messages are let in under (the type's; the same for every message). */
  private room = Number.POSITIVE_INFINITY;

  /** Messages waiting for room (timed-out ones not yet dropped included). */
  get overflowing(): number {
    return this.waiting?.length ?? 0;
  }

  /** Queues `p` behind the messages waiting for room; it moves in, in order, while the mailbox holds fewer than `capacity`. */
  wait(p: Pending, capacity: number): void {
    this.waiting ??= new Queue<Pending>();
    this.waiting.push(p);
    this.room = capacity;
    this.admit();
  }

  override shift(): Pending | undefined {
    const p = super.shift();
    if (this.waiting !== undefined && this.waiting.length > 0) this.admit();
    return p;
  }

  /** Removes and returns every message, queued then waiting, oldest first. */
  override drain(): Pending[] {
    const all: Pending[] = [];
    for (let p = super.shift(); p !== undefined; p = super.shift()) all.push(p);
    if (this.waiting !== undefined) for (const p of this.waiting.drain()) if (!p.settled) all.push(p);
    return all;
  }

  /** Takes the oldest queued message that is not a timer's firing out of the mailbox, for `overflow: "drop-oldest"`. */
  takeOldest(): Pending | undefined {
    return this.removeFirst((p) => p.timer === undefined);
  }

  private admit(): void {
    const w = this.waiting!;
    while (w.length > 0 && this.length < this.room) {
      const p = w.shift()!;
      if (!p.settled) this.push(p);
    }
  }
}
