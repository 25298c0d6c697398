import type { Activation } from "./activation.js";

/**
 * The activations of a runtime, by actor type and then id. A lookup builds no key: a key string
 * made per message (`type` + separator + `id`) cost ~100 ns a lookup to concatenate, flatten
 * and hash, where two lookups by the decoded strings cost ~35 ns. Per type there are as many
 * entries as actors; the outer map holds the few hosted types.
 */
export class ActivationTable {
  private readonly byType = new Map<string, Map<string, Activation>>();
  private count = 0;

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
  }

  /** Removes `a` if it is the activation under its key (an older one may have been replaced). */
  delete(a: Activation): boolean {
    const ids = this.byType.get(a.key.type);
    if (ids?.get(a.key.id) !== a) return false;
    ids.delete(a.key.id);
    this.count--;
    return true;
  }

  /** Every activation; removing the one just visited while iterating is allowed. */
  *values(): IterableIterator<Activation> {
    for (const ids of this.byType.values()) yield* ids.values();
  }

  clear(): void {
    this.byType.clear();
    this.count = 0;
  }
}
