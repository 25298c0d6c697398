/** A FIFO queue on a growable ring buffer: O(1) push and shift, no array re-indexing. */
export class Queue<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 8) {
    this.items = new Array(Math.max(2, initialCapacity));
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /**
   * Removes and returns the oldest item `match` accepts (undefined when none does). O(1) for the
   * front item; past it, the items before the one taken move up a place.
   */
  removeFirst(match: (item: T) => boolean): T | undefined {
    const size = this.items.length;
    for (let i = 0; i < this.count; i++) {
      const item = this.items[(this.head + i) % size] as T;
      if (!match(item)) continue;
      for (let j = i; j > 0; j--) this.items[(this.head + j) % size] = this.items[(this.head + j - 1) % size];
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % size;
      this.count--;
      return item;
    }
    return undefined;
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
