import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamInfo, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nuid } from "@nats-io/transport-node";
import { checkClusterName } from "../actor/names.js";
import { type MsgpackCodec, msgpack } from "../codec/msgpack.js";
import { BadRequestError, InternalError, ShoalError, UnavailableError } from "../errors.js";
import { clusterBuckets, snapshotKey, streamName } from "../nats-names.js";
import { checkEvents, checkVersion, roundTrip } from "./checks.js";
import { type JournalWriter, type PreparedAppend, prepareAppend, publishAppend } from "./jetstream-append.js";
import { InboxPublisher } from "./jetstream-publish.js";
import { expand, headOf, leaderLast, readRange } from "./jetstream-journal.js";
import * as layout from "./jetstream-layout.js";
import { SnapshotBucket, type StoredSnapshot } from "./snapshots-kv.js";
import { SubjectCache } from "./subject-cache.js";
import type { ActorKey, BatchMeta, EventStore, LoadedJournal, Snapshot, StoredEvent } from "./types.js";
import { type JournalHead, VersionCache } from "./version-cache.js";

export interface JetStreamEventStoreOptions {
  /** The caller's connection; the store never closes it. */
  nc: NatsConnection;
  /** Cluster name: names the stream, its subjects and the snapshot bucket. */
  cluster: string;
  /**
   * Replicas of the stream and the snapshot bucket when creating them (default 1). Given and
   * different from an existing stream's: an error. Not given: the existing stream's count.
   */
  replicas?: number;
  /** Create the stream and bucket when missing (default true); false: missing is an error. */
  create?: boolean;
  codec?: MsgpackCodec;
  /** Names this writer in every batch's `Shoal-Writer` header (default random); a random suffix keeps tokens unique per instance. */
  writerId?: string;
  /** Milliseconds to wait for one publish ack (default 5000). */
  publishTimeout?: number;
  /** Identical publishes of one append while its outcome is unsettled (default 6, pauses 10 ms … 2 s). */
  publishAttempts?: number;
  /** Actors whose journal head, and separately whose subject, is cached (default 10000). */
  cacheSize?: number;
  /** Messages per direct batch read (default 256). */
  pageSize?: number;
}

/**
 * The {@link EventStore} on JetStream: one stream per cluster, one subject per actor, one
 * message per appended batch, snapshots in a KV bucket (layout in `jetstream-layout.ts`).
 *
 * An append expects the stream sequence of the actor's last batch (`Nats-Expected-Last-Subject-
 * Sequence`) and carries the msg id `<subject>@<expected version>`: the server refuses a stale
 * writer, and a duplicate msg id is accepted as success only when the stored message carries
 * this append's own writer token.
 */
export class JetStreamEventStore implements EventStore {
  private closed = false;
  private appends = 0;

  private constructor(
    private readonly names: SubjectCache,
    private readonly w: JournalWriter,
    private readonly snapshots: SnapshotBucket,
    private readonly writerPrefix: string,
    /** Replicas of the stream (and of the buckets made beside it). */
    readonly replicas: number,
  ) {}

  static async open(opts: JetStreamEventStoreOptions): Promise<JetStreamEventStore> {
    const cluster = checkClusterName(opts.cluster);
    if (opts.writerId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(opts.writerId)) {
      throw new BadRequestError("writerId must be 1 to 128 printable ASCII characters without spaces");
    }
    const codec = opts.codec ?? msgpack;
    const maxPayload = opts.nc.info?.max_payload ?? 1024 * 1024;
    const jsm = await jetstreamManager(opts.nc);
    const replicas = await ensureStream(jsm, cluster, opts.replicas, opts.create ?? true);
    const snapshots = await SnapshotBucket.open({
      nc: opts.nc,
      jsm,
      bucket: clusterBuckets(cluster).snapshots,
      replicas,
      create: opts.create ?? true,
      codec,
      maxPayload,
    });
    const w: JournalWriter = {
      jsm,
      publisher: new InboxPublisher(opts.nc),
      stream: streamName(cluster),
      codec,
      cache: new VersionCache(opts.cacheSize ?? 10_000),
      maxPayload,
      publishTimeout: opts.publishTimeout ?? 5000,
      publishAttempts: opts.publishAttempts ?? 6,
      pageSize: opts.pageSize ?? 256,
    };
    const prefix = opts.writerId === undefined ? nuid.next() : `${opts.writerId}:${nuid.next()}`;
    return new JetStreamEventStore(new SubjectCache(cluster, opts.cacheSize ?? 10_000), w, snapshots, prefix, replicas);
  }

  // The steps of prepareAppend + publishPrepared without their async frames: each one is a
  // promise and a resumption more per append.
  async append(key: ActorKey, events: readonly unknown[], expectedVersion: number, meta?: unknown): Promise<number> {
    try {
      const p = await prepareAppend(this.w, this.encodeAppend(key, events, expectedVersion, meta));
      this.assertOpen();
      return await publishAppend(this.w, p);
    } catch (err) {
      throw typedError(err);
    }
  }

  /** @internal Checks and encodes an append and finds the sequence it expects; publishes nothing. */
  async prepareAppend(key: ActorKey, events: readonly unknown[], expectedVersion: number): Promise<PreparedAppend> {
    return prepareAppend(this.w, this.encodeAppend(key, events, expectedVersion));
  }

  private encodeAppend(key: ActorKey, events: readonly unknown[], expectedVersion: number, meta?: unknown): Omit<PreparedAppend, "expectSeq"> {
    const subject = this.subjectOf(key);
    checkVersion(expectedVersion, "expectedVersion");
    checkEvents(events);
    // With bookkeeping, the payload is {e, m}: readers that want only events take `e` (layout).
    const { bytes } = meta === undefined ? roundTrip(this.w.codec, events, "events") : roundTrip(this.w.codec, { e: events, m: meta }, "events");
    return {
      actorType: key.type,
      subject,
      payload: bytes,
      count: events.length,
      expectedVersion,
      writer: `${this.writerPrefix}:${++this.appends}`,
    };
  }

  /** @internal Publishes a prepared append; publishing one twice is a retry and settles the same way. */
  async publishPrepared(p: PreparedAppend): Promise<number> {
    this.assertOpen();
    return publishAppend(this.w, p);
  }

  async read(key: ActorKey, afterVersion = 0): Promise<StoredEvent[]> {
    return typed(() => this.readImpl(key, afterVersion));
  }

  private async readImpl(key: ActorKey, afterVersion = 0): Promise<StoredEvent[]> {
    const subject = this.subjectOf(key);
    checkVersion(afterVersion, "afterVersion");
    const hint = this.w.cache.get(subject);
    const last = await this.head(subject);
    if (last === undefined || last.version <= afterVersion) return [];
    // A head seen earlier at or below afterVersion is a safe place to start: batches never move.
    const from = hint !== undefined && hint.seq > 0 && hint.version <= afterVersion && hint.seq < last.seq ? hint : undefined;
    const msgs = await readRange(this.w, subject, (from?.seq ?? 0) + 1, last.seq);
    return expand(this.w, msgs, subject, from?.version ?? 0, afterVersion);
  }

  async version(key: ActorKey): Promise<number> {
    return typed(() => this.versionImpl(key));
  }

  private async versionImpl(key: ActorKey): Promise<number> {
    return (await this.head(this.subjectOf(key)))?.version ?? 0;
  }

  async saveSnapshot(key: ActorKey, snapshot: Snapshot): Promise<void> {
    return typed(() => this.saveSnapshotImpl(key, snapshot));
  }

  private async saveSnapshotImpl(key: ActorKey, snapshot: Snapshot): Promise<void> {
    const subject = this.subjectOf(key);
    checkVersion(snapshot.version, "snapshot.version");
    let seq = 0;
    const cached = this.w.cache.get(subject);
    if (cached?.version === snapshot.version) {
      seq = cached.seq;
    } else {
      // The sequence is what lets load() confirm the snapshot; without it load() replays in full.
      seq = await this.batchEndingAt(subject, snapshot.version).catch(() => 0);
    }
    const meta = snapshot.meta === undefined ? {} : { meta: snapshot.meta };
    await this.snapshots.put(snapshotKey(key), { version: snapshot.version, state: snapshot.state, seq, ...meta });
  }

  async loadSnapshot(key: ActorKey): Promise<Snapshot | undefined> {
    return typed(() => this.loadSnapshotImpl(key));
  }

  private async loadSnapshotImpl(key: ActorKey): Promise<Snapshot | undefined> {
    this.subjectOf(key);
    const stored = await this.snapshots.get(snapshotKey(key));
    return stored === undefined ? undefined : snapshotOf(stored);
  }

  /** Snapshot + tail. An unreadable snapshot only costs a full replay: it is ignored here (loadSnapshot reports it). */
  async load(key: ActorKey): Promise<LoadedJournal> {
    return typed(() => this.loadImpl(key));
  }

  private async loadImpl(key: ActorKey): Promise<LoadedJournal> {
    const subject = this.subjectOf(key);
    const [last, found] = await Promise.all([
      this.head(subject),
      this.snapshots.get(snapshotKey(key)).catch((err: unknown) => {
        if (err instanceof InternalError) return undefined;
        throw err;
      }),
    ]);
    const version = last?.version ?? 0;
    if (last === undefined) return { snapshot: undefined, events: [], version };
    // A snapshot is trusted only when the journal confirms it: its recorded sequence must be the
    // batch that reached its version. Anything else (no sequence, a journal rewritten after a
    // loss, a stale writer's snapshot) costs a full replay, never a wrong state.
    const stored = found !== undefined && found.version <= version ? found : undefined;
    const metas: BatchMeta[] = [];
    const tail = stored === undefined ? undefined : await this.tail(subject, stored, last, metas);
    if (stored !== undefined && tail !== undefined) {
      return withMetas({ snapshot: snapshotOf(stored), events: tail, version }, metas);
    }
    metas.length = 0;
    const events = expand(this.w, await readRange(this.w, subject, 1, last.seq), subject, 0, 0, metas);
    return withMetas({ snapshot: undefined, events, version }, metas);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.w.publisher.close?.();
    this.w.cache.clear();
    this.names.clear();
  }

  /** Events right after the snapshot's batch, or undefined when its sequence hint does not fit the journal. */
  private async tail(subject: string, stored: StoredSnapshot, last: JournalHead, metas: BatchMeta[]): Promise<StoredEvent[] | undefined> {
    if (stored.seq === 0 || stored.seq > last.seq) return undefined;
    if (stored.seq === last.seq) return stored.version === last.version ? [] : undefined;
    const msgs = await readRange(this.w, subject, stored.seq + 1, last.seq);
    const first = msgs[0];
    if (first === undefined) return undefined;
    const head = headOf(this.w, first, subject);
    if (head.version - head.count !== stored.version) return undefined;
    return expand(this.w, msgs, subject, stored.version, stored.version, metas);
  }

  /** Stream sequence of the batch that ends exactly at `version` (0: none, or the journal is not there yet). */
  private async batchEndingAt(subject: string, version: number): Promise<number> {
    const last = await this.head(subject);
    if (last === undefined || version === 0 || last.version < version) return 0;
    if (last.version === version) return last.seq;
    // An earlier batch end (not what the runtime does: it snapshots at the head): walk the journal.
    for (const m of await readRange(this.w, subject, 1, last.seq)) {
      const h = headOf(this.w, m, subject);
      if (h.version === version) return h.seq;
      if (h.version > version) return 0;
    }
    return 0;
  }

  /** The journal's last batch according to the stream leader; refreshes the cache. */
  private async head(subject: string): Promise<JournalHead | undefined> {
    const last = await leaderLast(this.w, subject);
    this.w.cache.set(subject, last ?? { version: 0, seq: 0 });
    return last;
  }

  private subjectOf(key: ActorKey): string {
    this.assertOpen();
    return this.names.subjectOf(key);
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("event store is closed");
  }
}

function snapshotOf(stored: StoredSnapshot): Snapshot {
  return stored.meta === undefined ? { version: stored.version, state: stored.state } : { version: stored.version, state: stored.state, meta: stored.meta };
}

function withMetas(journal: LoadedJournal, metas: BatchMeta[]): LoadedJournal {
  return metas.length > 0 ? { ...journal, metas } : journal;
}

/**
 * Every failure leaves the store typed: a raw client error (a request timing out while a
 * stream has no leader, a server going away) becomes UNAVAILABLE, which callers may retry;
 * typed errors (CONFLICT, TIMEOUT "outcome unknown", BAD_REQUEST, INTERNAL for corrupt data) pass.
 */
async function typed<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw typedError(err);
  }
}

function typedError(err: unknown): Error {
  if (ShoalError.is(err)) return err;
  return new UnavailableError(`event store unavailable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Finds or creates the cluster's stream and checks it can hold the journal; resolves to its replica count. */
async function ensureStream(jsm: JetStreamManager, cluster: string, replicas: number | undefined, create: boolean): Promise<number> {
  const name = streamName(cluster);
  let info = await streamInfo(jsm, name);
  if (info === undefined) {
    if (!create) {
      throw new UnavailableError(
        `event store stream ${name} is missing although cluster ${cluster} has stored events before: ` +
          `refusing to create an empty one (restore the stream or its servers' JetStream storage; ` +
          `a cluster with a lost journal must be started under a new name)`,
        { details: { stream: name } },
      );
    }
    try {
      info = await jsm.streams.add(layout.journalStreamConfig(cluster, replicas ?? 1));
    } catch (err) {
      // A concurrent open may have created it first.
      info = await streamInfo(jsm, name);
      if (info === undefined) throw err;
    }
  }
  const problems = layout.journalStreamProblems(info.config, cluster, replicas);
  if (problems.length > 0) {
    throw new InternalError(`stream ${name} cannot hold the event journal: ${problems.join("; ")}`, { details: { problems } });
  }
  return info.config.num_replicas;
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}
