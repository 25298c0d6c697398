import { ErrorCode, ShoalError } from "../src/errors.js";
import type { ActorKey, EventStore, LoadedJournal, Snapshot, StoredEvent } from "../src/store/types.js";

/** What {@link CountingEventStore} reports. */
export interface StoreCounts {
  /** A batch was appended. */
  appended(): void;
  /** An append lost on its expected version (CONFLICT). */
  conflicted(): void;
  /** An activation's load replayed this many events (after its snapshot, if any). */
  loaded?(replayed: number): void;
}

/** An {@link EventStore} decorator that counts appends, conflicts and the events each load replays; everything else passes through. */
export class CountingEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly counts: StoreCounts,
  ) {}

  async append(key: ActorKey, events: readonly unknown[], expectedVersion: number, meta?: unknown): Promise<number> {
    try {
      const v = await this.inner.append(key, events, expectedVersion, meta);
      this.counts.appended();
      return v;
    } catch (err) {
      if (ShoalError.is(err, ErrorCode.CONFLICT)) this.counts.conflicted();
      throw err;
    }
  }

  read(key: ActorKey, afterVersion?: number): Promise<StoredEvent[]> {
    return this.inner.read(key, afterVersion);
  }

  version(key: ActorKey): Promise<number> {
    return this.inner.version(key);
  }

  saveSnapshot(key: ActorKey, snapshot: Snapshot): Promise<void> {
    return this.inner.saveSnapshot(key, snapshot);
  }

  loadSnapshot(key: ActorKey): Promise<Snapshot | undefined> {
    return this.inner.loadSnapshot(key);
  }

  async load(key: ActorKey): Promise<LoadedJournal> {
    const journal = await this.inner.load(key);
    this.counts.loaded?.(journal.events.length);
    return journal;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
