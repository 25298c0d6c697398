import type { Clock } from "../src/clock.js";
import { BadRequestError, ConflictError, UnavailableError } from "../src/errors.js";
import {
  isValidBucketName,
  isValidKvKey,
  keyMatches,
  type Kv,
  type KvBucketOptions,
  type KvChange,
  type KvEntry,
  type KvProvider,
  type KvWatch,
} from "./kv.js";

interface Stored {
  value: Uint8Array;
  revision: number;
  writtenAt: number;
}

interface Watcher {
  readonly client: string;
  readonly key: string | undefined;
  readonly onChange: (change: KvChange) => void;
  queue: KvChange[];
  live: boolean;
}

interface BucketState {
  readonly name: string;
  readonly ttl: number;
  revision: number;
  readonly entries: Map<string, Stored>;
  readonly watchers: Set<Watcher>;
}

/**
 * An in-memory KV server: every bucket lives here, shared by all clients, like one NATS server.
 * Each {@link provider} is one node's connection to it; {@link cut} and {@link heal} simulate
 * that node losing and regaining its connection.
 *
 * Semantics, mirroring NATS KV (history 1):
 * - Revisions: one counter per bucket; every put, create, update and delete takes the next one.
 * - TTL: a value expires `ttl` ms (by the injected clock) after its last write. Expiry is
 *   evaluated lazily on access and sends no watch event.
 * - Watches: callbacks never run inside a writer's call; each change is queued and delivered in a
 *   later microtask, in revision order. Whether a writer's `await` resumes before or after the
 *   watch callback for its own write is unspecified (today the callback usually runs first).
 *   Initial values are delivered before `watch()` resolves, as puts in revision order.
 *   A throwing callback does not stop the watch; its error is dropped.
 * - Cut: while a client is cut, its operations (including `bucket` and `watch`) reject with
 *   UNAVAILABLE and change nothing; its watches queue changes, delivered in order on heal (like a
 *   NATS ordered consumer resuming). `stop()` always works and discards what was queued.
 */
export class MemoryKvBackend {
  private readonly buckets = new Map<string, BucketState>();
  private readonly cutClients = new Set<string>();

  constructor(private readonly clock: Clock) {}

  /** One node's connection to this backend. Providers with the same `client` share cut state. */
  provider(client = "default"): KvProvider {
    return {
      bucket: async (name, opts) => {
        this.check(client);
        return new MemoryKv(this, client, this.open(name, opts));
      },
    };
  }

  /** Disconnects `client`: its operations reject with UNAVAILABLE, its watches hold deliveries. */
  cut(client: string): void {
    this.cutClients.add(client);
  }

  /** Reconnects `client` and delivers, in order, the changes its watches missed. */
  heal(client: string): void {
    this.cutClients.delete(client);
    for (const b of this.buckets.values()) {
      for (const w of b.watchers) if (w.client === client && w.queue.length > 0) this.schedule(w);
    }
  }

  /** @internal Throws UNAVAILABLE when `client` is cut. */
  check(client: string): void {
    if (this.cutClients.has(client)) throw new UnavailableError(`kv client ${client} is disconnected`);
  }

  /** @internal */
  now(): number {
    return this.clock.now();
  }

  /** @internal The live value of `key`, dropping it if expired. */
  live(b: BucketState, key: string): Stored | undefined {
    const s = b.entries.get(key);
    if (s === undefined) return undefined;
    if (b.ttl > 0 && this.clock.now() >= s.writtenAt + b.ttl) {
      b.entries.delete(key);
      return undefined;
    }
    return s;
  }

  /** @internal Records a change and queues it for every matching watcher. */
  emit(b: BucketState, change: KvChange): void {
    const key = change.kind === "put" ? change.entry.key : change.key;
    for (const w of b.watchers) {
      if (w.key !== undefined && w.key !== key) continue;
      // Each watcher gets its own bytes: a callback may keep or mutate them.
      w.queue.push(change.kind === "put" ? { kind: "put", entry: { ...change.entry, value: change.entry.value.slice() } } : change);
      if (!this.cutClients.has(w.client)) this.schedule(w);
    }
  }

  /** @internal Delivers everything queued for `w` now (used for the initial values of a watch). */
  drain(w: Watcher): void {
    while (w.live && w.queue.length > 0) {
      const change = w.queue.shift()!;
      try {
        w.onChange(change);
      } catch {
        // A faulty subscriber must not break delivery to itself or others.
      }
    }
  }

  private schedule(w: Watcher): void {
    queueMicrotask(() => {
      if (!this.cutClients.has(w.client)) this.drain(w);
    });
  }

  private open(name: string, opts: KvBucketOptions): BucketState {
    if (!isValidBucketName(name)) throw new BadRequestError(`invalid bucket name ${JSON.stringify(name)}`);
    const ttl = opts.ttl;
    if (!Number.isFinite(ttl) || ttl < 0) throw new BadRequestError(`invalid ttl ${ttl} for bucket ${name}`);
    const existing = this.buckets.get(name);
    if (existing !== undefined) {
      if (existing.ttl !== ttl) {
        throw new BadRequestError(`bucket ${name} exists with ttl ${existing.ttl} ms, not ${ttl} ms`, {
          details: { bucket: name, ttl, existingTtl: existing.ttl },
        });
      }
      return existing;
    }
    const b: BucketState = { name, ttl, revision: 0, entries: new Map(), watchers: new Set() };
    this.buckets.set(name, b);
    return b;
  }
}

/** One client's handle on one bucket of a {@link MemoryKvBackend}. */
class MemoryKv implements Kv {
  constructor(
    private readonly backend: MemoryKvBackend,
    private readonly client: string,
    private readonly b: BucketState,
  ) {}

  async get(key: string): Promise<KvEntry | undefined> {
    this.guard(key);
    const s = this.backend.live(this.b, key);
    return s === undefined ? undefined : entry(key, s);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.guard(key);
    if (this.backend.live(this.b, key) !== undefined) throw new ConflictError(`key ${key} exists in ${this.b.name}`);
    return this.write(key, value);
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    this.guard(key);
    this.expect(key, revision);
    return this.write(key, value);
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.guard(key);
    return this.write(key, value);
  }

  async delete(key: string, revision?: number): Promise<void> {
    this.guard(key);
    if (revision !== undefined) this.expect(key, revision);
    else if (this.backend.live(this.b, key) === undefined) return;
    this.b.entries.delete(key);
    this.backend.emit(this.b, { kind: "delete", key, revision: ++this.b.revision });
  }

  async keys(filter?: string | readonly string[]): Promise<string[]> {
    this.backend.check(this.client);
    const filters = filter === undefined ? undefined : typeof filter === "string" ? [filter] : filter;
    return [...this.b.entries.keys()].filter(
      (k) => this.backend.live(this.b, k) !== undefined && (filters === undefined || filters.some((f) => keyMatches(f, k))),
    );
  }

  async watch(onChange: (change: KvChange) => void, key?: string): Promise<KvWatch> {
    if (key !== undefined) this.guard(key);
    else this.backend.check(this.client);
    const initial: KvChange[] = [];
    for (const k of key === undefined ? [...this.b.entries.keys()] : [key]) {
      const s = this.backend.live(this.b, k);
      if (s !== undefined) initial.push({ kind: "put", entry: entry(k, s) });
    }
    initial.sort((x, y) => revisionOf(x) - revisionOf(y));
    const w: Watcher = { client: this.client, key, onChange, queue: initial, live: true };
    this.b.watchers.add(w);
    // Deliver the initial values after the caller's synchronous code, yet before resolving.
    await Promise.resolve();
    this.backend.drain(w);
    return {
      stop: () => {
        w.live = false;
        w.queue = [];
        this.b.watchers.delete(w);
      },
    };
  }

  private guard(key: string): void {
    this.backend.check(this.client);
    if (!isValidKvKey(key)) {
      throw new BadRequestError(`invalid key ${JSON.stringify(key)}`);
    }
  }

  private expect(key: string, revision: number): void {
    const s = this.backend.live(this.b, key);
    if (s === undefined || s.revision !== revision) {
      throw new ConflictError(`key ${key} in ${this.b.name} is at revision ${s?.revision ?? "none"}, not ${revision}`, {
        details: { key, expected: revision, actual: s?.revision ?? 0 },
      });
    }
  }

  private write(key: string, value: Uint8Array): number {
    const s: Stored = { value: value.slice(), revision: ++this.b.revision, writtenAt: this.backend.now() };
    this.b.entries.set(key, s);
    this.backend.emit(this.b, { kind: "put", entry: entry(key, s) });
    return s.revision;
  }
}

function entry(key: string, s: Stored): KvEntry {
  return { key, value: s.value.slice(), revision: s.revision };
}

function revisionOf(c: KvChange): number {
  return c.kind === "put" ? c.entry.revision : c.revision;
}
