import type { Activation } from "./activation.js";

/**
 * The activations of a runtime, by actor type and then id. A lookup builds no key: a key string
 * made per message (`type` + separator + `id`) cost ~100 ns a lookup to concatenate, flatten
 * and hash, where two lookups by the decoded strings cost ~35 ns. Per type there are as many
 * entries as actors; the outer map holds the few hosted types.
 */
export class ActivationTable {
  private readonly byType = new Map<string, Map<string, Activation>>();
  /** Activations by partition, kept only when `partitionOf` is given: pausing a shard costs its actors, not the node's. */
  private readonly byPartition = new Map<number, Set<Activation>>();
  /** The partition each activation is filed under: an actor's partition can change (a tenant gets a shard of its own). */
  private readonly filedUnder = new Map<Activation, number>();
  private count = 0;

  constructor(private readonly partitionOf?: (type: string, id: string) => number) {}

  get size(): number {
    return this.count;
  }

  get(type: string, id: string): Activation | undefined {
    return this.byType.get(type)?.get(id);
  }

  /** Adds `a` under its key; there must be none there yet. */
  add(a: Activation): void {
    let ids = this.byType.get(a.key.type);
    if (ids === undefined) {
      ids = new Map();
      this.byType.set(a.key.type, ids);
    }
    if (ids.has(a.key.id)) throw new Error(`${a.key.type}/${a.key.id} is already in the table`);
    ids.set(a.key.id, a);
    this.count++;
    if (this.partitionOf === undefined) return;
    this.file(a, this.partitionOf(a.key.type, a.key.id));
  }

  /**
   * Files again, under the partition `partitionOf` gives now, every activation that `matches`:
   * called when actors change partition (a tenant given a shard of its own), so pausing either
   * partition later finds them where they are. Returns how many moved.
   */
  repartition(matches: (type: string, id: string) => boolean): number {
    if (this.partitionOf === undefined) return 0;
    let moved = 0;
    for (const [a, was] of [...this.filedUnder]) {
      if (!matches(a.key.type, a.key.id)) continue;
      const now = this.partitionOf(a.key.type, a.key.id);
      if (now === was) continue;
      this.unfile(a);
      this.file(a, now);
      moved++;
    }
    return moved;
  }

  private file(a: Activation, part: number): void {
    let set = this.byPartition.get(part);
    if (set === undefined) {
      set = new Set();
      this.byPartition.set(part, set);
    }
    set.add(a);
    this.filedUnder.set(a, part);
  }

  private unfile(a: Activation): void {
    const part = this.filedUnder.get(a);
    if (part === undefined) return;
    this.filedUnder.delete(a);
    const set = this.byPartition.get(part);
    set?.delete(a);
    if (set?.size === 0) this.byPartition.delete(part);
  }

  /** The activations of one partition (empty without `partitionOf`). */
  inPartition(partition: number): Activation[] {
    return [...(this.byPartition.get(partition) ?? [])];
  }

  /** Removes `a` if it is the activation under its key (an older one may have been replaced). */
  delete(a: Activation): boolean {
    const ids = this.byType.get(a.key.type);
    if (ids?.get(a.key.id) !== a) return false;
    ids.delete(a.key.id);
    this.count--;
    this.unfile(a);
    return true;
  }

  /** Every activation; removing the one just visited while iterating is allowed. */
  *values(): IterableIterator<Activation> {
    for (const ids of this.byType.values()) yield* ids.values();
  }

  clear(): void {
    this.byType.clear();
    this.byPartition.clear();
    this.filedUnder.clear();
    this.count = 0;
  }
}
