import { JetStreamApiCodes, JetStreamApiError, StorageType } from "@nats-io/jetstream";
import { type KV, type KvWatchEntry, Kvm } from "@nats-io/kv";
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  type NatsConnection,
  type QueuedIterator,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { BadRequestError, ConflictError, InternalError, ShoalError, UnavailableError } from "../src/errors.js";
import { isValidBucketName, isValidKvKey, type Kv, type KvBucketOptions, type KvChange, type KvEntry, type KvProvider, type KvWatch } from "./kv.js";

/**
 * {@link KvProvider} over NATS JetStream KV (`@nats-io/kv`). A bucket is a KV with history 1,
 * `ttl` as its max age and no direct get (reads go to the stream leader, so a write is visible
 * to every reader once acknowledged).
 *
 * Errors: a failed compare-and-set (wrong last subject sequence) is CONFLICT; a closed or
 * draining connection, no responders and timeouts are UNAVAILABLE; anything else is INTERNAL.
 * A write the server certainly did not store (no responders: the bucket's stream has no leader
 * for a moment; or a 503 from JetStream, such as "expected last sequence per subject
 * temporarily unavailable" while rival writes to the key are in flight on a replicated bucket)
 * is asked again a few times, ~0.8 s in all, before it is UNAVAILABLE. A timeout is not: the
 * write may have been stored, and repeating a compare-and-set that did land would report the
 * writer's own success as CONFLICT.
 *
 * Known differences from the memory backend, inherent to NATS: a value lives until the server
 * removes it, which can be up to about a second after its ttl; and `update`/`delete` with the
 * revision of a delete marker (as reported by a watch) succeed where memory says CONFLICT.
 *
 * Watches ride the library's ordered push consumer: it survives reconnects and server restarts,
 * but if the server hosting that (R1) consumer dies while this connection stays up, delivery
 * stalls until the library notices missed heartbeats and recreates it (about 60-90 s). A watch
 * ends silently when its connection is closed. An existing bucket is opened as it is (its
 * replicas are not checked).
 */
export class NatsKvProvider implements KvProvider {
  private readonly kvm: Kvm;

  constructor(
    nc: NatsConnection,
    private readonly opts: { replicas?: number } = {},
  ) {
    this.kvm = new Kvm(nc);
  }

  /** Creates or opens `name`; rejects with BAD_REQUEST when it exists with another ttl. */
  async bucket(name: string, opts: KvBucketOptions): Promise<Kv> {
    if (!isValidBucketName(name)) throw new BadRequestError(`invalid bucket name ${JSON.stringify(name)}`);
    const replicas = opts.replicas ?? this.opts.replicas ?? 1;
    const kv = await call(`open bucket ${name}`, () =>
      this.kvm.create(name, { history: 1, ttl: opts.ttl, replicas, storage: StorageType.File, allow_direct: false }),
    );
    // An existing stream is opened as it is: its config must match what we asked for.
    const { ttl } = await call(`status of bucket ${name}`, () => kv.status());
    if (ttl !== opts.ttl) {
      throw new BadRequestError(`bucket ${name} exists with ttl ${ttl} ms, not ${opts.ttl} ms`, {
        details: { bucket: name, ttl: opts.ttl, existingTtl: ttl },
      });
    }
    return new NatsKv(kv, name);
  }
}

class NatsKv implements Kv {
  constructor(
    private readonly kv: KV,
    private readonly name: string,
  ) {}

  async get(key: string): Promise<KvEntry | undefined> {
    this.check(key);
    const e = await call(`get ${this.name}/${key}`, () => this.kv.get(key));
    return e === null || e.operation !== "PUT" ? undefined : { key, value: e.value, revision: e.revision };
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.check(key);
    return write(`create ${this.name}/${key}`, () => this.kv.create(key, value));
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    this.check(key);
    if (!(revision >= 1)) throw stale(this.name, key, revision);
    return write(`update ${this.name}/${key}`, () => this.kv.update(key, value, revision));
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.check(key);
    return write(`put ${this.name}/${key}`, () => this.kv.put(key, value));
  }

  async delete(key: string, revision?: number): Promise<void> {
    this.check(key);
    if (revision === undefined) {
      // NATS would write a delete marker for a missing key too; the contract makes that a no-op.
      if ((await this.get(key)) === undefined) return;
      return write(`delete ${this.name}/${key}`, () => this.kv.delete(key));
    }
    // The library treats previousSeq 0 as "unconditional".
    if (!(revision >= 1)) throw stale(this.name, key, revision);
    return write(`delete ${this.name}/${key}`, () => this.kv.delete(key, { previousSeq: revision }));
  }

  async keys(filter?: string | readonly string[]): Promise<string[]> {
    return call(`keys of ${this.name}`, async () => {
      const out: string[] = [];
      for await (const k of await this.kv.keys(typeof filter === "string" || filter === undefined ? filter : [...filter])) out.push(k);
      return out;
    });
  }

  async watch(onChange: (change: KvChange) => void, key?: string): Promise<KvWatch> {
    if (key !== undefined) this.check(key);
    const what = `watch ${this.name}/${key ?? ">"}`;
    const iter = await call(what, () => this.kv.watch({ key: key ?? ">" }));
    let initial: number;
    try {
      initial = await initialCount(iter);
    } catch (err) {
      iter.stop();
      throw mapError(what, err);
    }
    let stopped = false;
    const ready = settleOnce();
    if (initial === 0) ready.resolve();
    void (async () => {
      let seen = 0;
      try {
        for await (const e of iter) {
          const change = toChange(e);
          // The initial set is the last message per key, delete markers included: report live values only.
          if (!stopped && (seen >= initial || change.kind === "put")) {
            try {
              onChange(change);
            } catch {
              // A faulty subscriber must not end the watch.
            }
          }
          if (++seen === initial) ready.resolve();
        }
        ready.reject(new UnavailableError(`${what} ended before its initial values`));
      } catch (err) {
        ready.reject(mapError(what, err));
      }
    })();
    try {
      await ready.promise;
    } catch (err) {
      iter.stop();
      throw err;
    }
    return {
      stop: () => {
        stopped = true;
        iter.stop();
      },
    };
  }

  private check(key: string): void {
    if (!isValidKvKey(key)) throw new BadRequestError(`invalid key ${JSON.stringify(key)}`);
  }
}

/**
 * How many messages the watch delivers before it is caught up. nats.js 3.4 marks them only by an
 * off-by-one `isUpdate` (the last initial entry already says true) and sends nothing at all for an
 * empty initial set, so we read the count the library itself used: `num_pending` of the consumer
 * info cached when the watch was created (the iterator's `_data` is that consumer).
 */
async function initialCount(iter: QueuedIterator<KvWatchEntry>): Promise<number> {
  const oc = (iter as { _data?: { info?: (cached?: boolean) => Promise<{ num_pending: number }> } })._data;
  if (typeof oc?.info !== "function") throw new InternalError("unsupported @nats-io/kv: a watch exposes no consumer");
  return (await oc.info(true)).num_pending;
}

function toChange(e: KvWatchEntry): KvChange {
  return e.operation === "PUT"
    ? { kind: "put", entry: { key: e.key, value: e.value, revision: e.revision } }
    : { kind: "delete", key: e.key, revision: e.revision };
}

function stale(bucket: string, key: string, revision: number): ConflictError {
  return new ConflictError(`${bucket}/${key} is not at revision ${revision}`, { details: { key, expected: revision } });
}

/** Pauses before asking again a write that was certainly not stored (see {@link NatsKvProvider}). */
const WRITE_RETRY_MS = [25, 50, 100, 200, 400] as const;

async function write<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const pause = WRITE_RETRY_MS[attempt];
      if (pause === undefined || !notStored(err)) throw mapError(what, err);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** No stream leader took the write (no responders), or JetStream refused it before storing (503). */
export function notStored(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status === 503;
  return causedBy(err, noResponders);
}

/** The server had no subscriber for the subject (as nats.js reports it, wrapped or not). */
const noResponders = (e: Error): boolean => e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders());

/** Nothing answered: no responders, a timeout, or a connection closed, draining or failing. */
const unreachable = (e: Error): boolean =>
  noResponders(e) || e instanceof TimeoutError || e instanceof ClosedConnectionError || e instanceof DrainingConnectionError || e instanceof ConnectionError;

/** Whether `err` or an error in its `cause` chain is `what`. */
function causedBy(err: unknown, what: (e: Error) => boolean): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (what(e)) return true;
  return false;
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapError(what, err);
  }
}

/** Maps an error of nats.js to the Shoal error a caller can act on. */
export function mapError(what: string, err: unknown): ShoalError {
  if (ShoalError.is(err)) return err;
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof JetStreamApiError) {
    const c = err.code;
    if (c === JetStreamApiCodes.StreamWrongLastSequence || c === JetStreamApiCodes.StreamWrongLastSequenceUnknown) {
      return new ConflictError(message, { cause: err });
    }
    if (err.status === 503) return new UnavailableError(message, { cause: err });
  }
  if (causedBy(err, unreachable)) return new UnavailableError(message, { cause: err });
  return new InternalError(message, { cause: err });
}

/** A promise settled by whichever of resolve/reject comes first. */
function settleOnce(): { promise: Promise<void>; resolve(): void; reject(err: unknown): void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejections after the watch is up have no one waiting.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
