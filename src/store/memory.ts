import { type MsgpackCodec, msgpack } from "../codec/msgpack.js";
import { UnavailableError } from "../errors.js";
import { checkEvents, checkKey, checkVersion, roundTrip, versionConflict } from "./checks.js";
import type { ActorKey, BatchMeta, EventStore, LoadedJournal, Snapshot, StoredEvent } from "./types.js";

interface Batch {
  /** Version after the batch. */
  readonly version: number;
  readonly count: number;
  /** The events as the codec encoded them: every read decodes a fresh copy. */
  readonly bytes: Uint8Array;
  /** The runtime's bookkeeping appended with it, encoded; absent when none was given. */
  readonly meta?: Uint8Array;
}

/**
 * The data behind {@link MemoryEventStore}s. Two stores over one backend behave like two
 * processes on one JetStream server (e.g. a restarted node, or two nodes in one test).
 */
export class MemoryBackend {
  /** @internal */ readonly journals = new Map<string, Batch[]>();
  /** @internal */ readonly snapshots = new Map<string, Uint8Array>();
}

export interface MemoryEventStoreOptions {
  /** Shared data; a fresh backend by default. */
  backend?: MemoryBackend;
  /** Codec events and snapshots go through (the shared default codec by default). */
  codec?: MsgpackCodec;
}

/**
 * An {@link EventStore} in memory with the JetStream store's semantics: versions, atomic
 * batches, CONFLICT on a stale expected version, codec round trips (what the codec cannot carry
 * fails the same way), snapshots above the journal's version ignored on load.
 */
export class MemoryEventStore implements EventStore {
  /** @internal The shared data; Shoal's tests pass it to a second store to simulate a restart. */
  readonly backend: MemoryBackend;
  private readonly codec: MsgpackCodec;
  private closed = false;

  /** An empty store. `opts` (a shared backend, another codec) is for Shoal's own tests. */
  constructor(opts: MemoryEventStoreOptions = {}) {
    this.backend = opts.backend ?? new MemoryBackend();
    this.codec = opts.codec ?? msgpack;
  }

  async append(key: ActorKey, events: readonly unknown[], expectedVersion: number, meta?: unknown): Promise<number> {
    const id = this.open(key);
    checkVersion(expectedVersion, "expectedVersion");
    const { bytes } = roundTrip(this.codec, checkEvents(events), "events");
    const metaBytes = meta === undefined ? undefined : roundTrip(this.codec, meta, "meta").bytes;
    const journal = this.backend.journals.get(id) ?? [];
    const actual = journal.at(-1)?.version ?? 0;
    if (actual !== expectedVersion) {
      throw versionConflict(key.type, expectedVersion, actual);
    }
    const version = expectedVersion + events.length;
    journal.push(metaBytes === undefined ? { version, count: events.length, bytes } : { version, count: events.length, bytes, meta: metaBytes });
    this.backend.journals.set(id, journal);
    return version;
  }

  async read(key: ActorKey, afterVersion = 0): Promise<StoredEvent[]> {
    const id = this.open(key);
    return this.eventsAfter(id, checkVersion(afterVersion, "afterVersion"));
  }

  async version(key: ActorKey): Promise<number> {
    return this.currentVersion(this.open(key));
  }

  async saveSnapshot(key: ActorKey, snapshot: Snapshot): Promise<void> {
    const id = this.open(key);
    checkVersion(snapshot.version, "snapshot.version");
    // Like the JetStream store, remember whether the journal had reached this version when the
    // snapshot was taken: one taken ahead of the journal is never trusted, even once it catches up.
    const confirmed = snapshot.version <= this.currentVersion(id);
    const stored = { version: snapshot.version, state: snapshot.state, confirmed, ...(snapshot.meta === undefined ? {} : { meta: snapshot.meta }) };
    const { bytes } = roundTrip(this.codec, stored, "snapshot");
    this.backend.snapshots.set(id, bytes);
  }

  async loadSnapshot(key: ActorKey): Promise<Snapshot | undefined> {
    return this.snapshotOf(this.open(key));
  }

  async load(key: ActorKey): Promise<LoadedJournal> {
    const id = this.open(key);
    const version = this.currentVersion(id);
    const stored = this.storedSnapshot(id);
    const snapshot = stored?.confirmed && stored.version <= version ? this.snapshotOf(id) : undefined;
    const after = snapshot?.version ?? 0;
    const metas = this.metasAfter(id, after);
    const journal = { snapshot, events: this.eventsAfter(id, after), version };
    return metas.length > 0 ? { ...journal, metas } : journal;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(key: ActorKey): string {
    if (this.closed) throw new UnavailableError("event store is closed");
    checkKey(key);
    return `${key.type}\u0000${key.id}`;
  }

  private currentVersion(id: string): number {
    return this.backend.journals.get(id)?.at(-1)?.version ?? 0;
  }

  private eventsAfter(id: string, afterVersion: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const batch of this.backend.journals.get(id) ?? []) {
      if (batch.version <= afterVersion) continue;
      // Decoded binary values are views of their input: decode a copy so callers cannot reach our bytes.
      const events = this.codec.decode(batch.bytes.slice()) as unknown[];
      const base = batch.version - batch.count;
      events.forEach((event, i) => {
        if (base + i + 1 > afterVersion) out.push({ version: base + i + 1, event });
      });
    }
    return out;
  }

  private metasAfter(id: string, afterVersion: number): BatchMeta[] {
    const out: BatchMeta[] = [];
    for (const batch of this.backend.journals.get(id) ?? []) {
      if (batch.version > afterVersion && batch.meta !== undefined) out.push({ version: batch.version, meta: this.codec.decode(batch.meta.slice()) });
    }
    return out;
  }

  private snapshotOf(id: string): Snapshot | undefined {
    const stored = this.storedSnapshot(id);
    if (stored === undefined) return undefined;
    return stored.meta === undefined ? { version: stored.version, state: stored.state } : { version: stored.version, state: stored.state, meta: stored.meta };
  }

  private storedSnapshot(id: string): { version: number; state: unknown; confirmed: boolean; meta?: unknown } | undefined {
    const bytes = this.backend.snapshots.get(id);
    if (bytes === undefined) return undefined;
    return this.codec.decode(bytes.slice()) as { version: number; state: unknown; confirmed: boolean; meta?: unknown };
  }
}
