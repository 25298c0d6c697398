/** Where an actor's journal ended when last seen: its version and the stream sequence of that batch. */
export interface JournalHead {
  readonly version: number;
  readonly seq: number;
}

/**
 * A bounded LRU map from journal subject to its last seen {@link JournalHead}. Only a hint: an
 * append with a stale head is refused by the server's expected-sequence check, never misplaced.
 */
export class VersionCache {
  private readonly heads = new Map<string, JournalHead>();

  constructor(private readonly capacity = 10_000) {}

  get(subject: string): JournalHead | undefined {
    const head = this.heads.get(subject);
    if (head !== undefined) {
      this.heads.delete(subject);
      this.heads.set(subject, head);
    }
    return head;
  }

  /** Records a head unless a newer one (higher seq) is already known: racing readers never move it back. */
  set(subject: string, head: JournalHead): void {
    const known = this.heads.get(subject);
    if (known !== undefined && known.seq > head.seq) return;
    this.heads.delete(subject);
    this.heads.set(subject, head);
    if (this.heads.size > this.capacity) {
      const oldest = this.heads.keys().next();
      if (oldest.done !== true) this.heads.delete(oldest.value);
    }
  }

  delete(subject: string): void {
    this.heads.delete(subject);
  }

  clear(): void {
    this.heads.clear();
  }

  get size(): number {
    return this.heads.size;
  }
}
