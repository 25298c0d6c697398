/**
 * The `n` items with the highest scores among those offered, in one pass: a min-heap of at most
 * `n` entries whose root is the weakest kept, so an item that cannot enter costs one comparison
 * and one that can costs O(log n). Offering all of m items is O(m log n), with no array of m.
 */
export class TopN<T> {
  private readonly items: T[] = [];
  private readonly scores: number[] = [];

  /** Keeps at most `n` items (0 keeps none). */
  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  }

  /** Items kept so far. */
  get size(): number {
    return this.items.length;
  }

  /** Considers `item` with `score`; it is kept if it is among the `n` highest so far (ties keep the earlier one). */
  offer(item: T, score: number): void {
    const { items, scores } = this;
    if (items.length < this.n) {
      items.push(item);
      scores.push(score);
      this.up(items.length - 1);
      return;
    }
    if (this.n === 0 || !(score > scores[0]!)) return;
    items[0] = item;
    scores[0] = score;
    this.down(0);
  }

  /** The kept items, highest score first. */
  sorted(): T[] {
    const s = this.scores;
    const order = this.items.map((_, i) => i).sort((a, b) => (s[b]! > s[a]! ? 1 : s[b]! < s[a]! ? -1 : a - b));
    return order.map((i) => this.items[i]!);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!(this.scores[i]! < this.scores[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < n && this.scores[l]! < this.scores[least]!) least = l;
      if (r < n && this.scores[r]! < this.scores[least]!) least = r;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private swap(a: number, b: number): void {
    const { items, scores } = this;
    [items[a], items[b]] = [items[b]!, items[a]!];
    [scores[a], scores[b]] = [scores[b]!, scores[a]!];
  }
}
