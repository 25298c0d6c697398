import type { Schedule } from "./schedule.js";

/** One reminder as stored: whose it is, when it is next due, what it sends, and which firing is next. */
export interface StoredReminder extends Schedule {
  /** The actor's shard: reminders are kept, listed and fired by shard. */
  readonly shard: number;
  readonly type: string;
  readonly id: string;
  readonly name: string;
  readonly msg: unknown;
  /** When the next firing is due (ms since the epoch). */
  readonly due: number;
  /**
   * When it was set (ms since the epoch; above the previous setting's for the same name) and the
   * number of the next firing since then: a firing's origin is `(name, set, n)`, so a receiver
   * applies each firing once.
   */
  readonly set: number;
  readonly n: number;
}

/** Where reminders live: a JetStream KV bucket on a node, memory in a standalone runtime. */
export interface ReminderStorage {
  /** Stores a reminder a turn set (replacing any of the same name). */
  put(r: StoredReminder): Promise<void>;
  /** Deletes a reminder a turn cancelled. */
  delete(r: Pick<StoredReminder, "shard" | "type" | "id" | "name">): Promise<void>;
  /**
   * After `r` fired: stores `next` in its place, or deletes it (`next` undefined) — only if the
   * stored reminder is still `r`'s setting and firing (`set`, `n`): a turn that set it again
   * meanwhile wins.
   */
  advance(r: StoredReminder, next: StoredReminder | undefined): Promise<void>;
  /** Every reminder of a shard. */
  loadShard(shard: number): Promise<StoredReminder[]>;
}

/** Reminders in memory (a standalone `Runtime`, tests): they live as long as the process. */
export class MemoryReminderStorage implements ReminderStorage {
  private readonly byShard = new Map<number, Map<string, StoredReminder>>();

  async put(r: StoredReminder): Promise<void> {
    let m = this.byShard.get(r.shard);
    if (m === undefined) {
      m = new Map();
      this.byShard.set(r.shard, m);
    }
    m.set(entryKey(r), r);
  }

  async delete(r: Pick<StoredReminder, "shard" | "type" | "id" | "name">): Promise<void> {
    this.byShard.get(r.shard)?.delete(entryKey(r));
  }

  async advance(r: StoredReminder, next: StoredReminder | undefined): Promise<void> {
    const stored = this.byShard.get(r.shard)?.get(entryKey(r));
    if (stored === undefined || stored.set !== r.set || stored.n !== r.n) return;
    if (next === undefined) await this.delete(r);
    else await this.put(next);
  }

  async loadShard(shard: number): Promise<StoredReminder[]> {
    return [...(this.byShard.get(shard)?.values() ?? [])];
  }
}

/** One string per reminder (a NUL cannot occur in a type name). */
export function entryKey(r: Pick<StoredReminder, "type" | "id" | "name">): string {
  return `${r.type}\u0000${r.id}\u0000${r.name}`;
}
