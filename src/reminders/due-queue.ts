/** A min-heap of due times; an item whose `ver` no longer matches its owner's is skipped when it surfaces. */
export interface DueItem {
  readonly due: number;
  readonly key: string;
  readonly ver: number;
}

export class DueQueue {
  private readonly heap: DueItem[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(item: DueItem): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.due <= item.due) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = item;
  }

  peek(): DueItem | undefined {
    return this.heap[0];
  }

  pop(): DueItem | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.due < h[l]!.due ? r : l;
      if (h[c]!.due >= last.due) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
