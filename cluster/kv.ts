/**
 * The key-value contract the cluster layer is built on: membership, leader election and the
 * shard map each live in one bucket. Two implementations pass one conformance suite:
 * `MemoryKvBackend` in kv-memory.ts (driven by an injected clock, for unit tests of election and
 * the manager) and `NatsKvProvider` in kv-nats.ts (JetStream KV buckets); test/kv-conformance.ts
 * is the suite.
 *
 * Keys are `[-/_=.a-zA-Z0-9]+` (callers encode ids with `encodeToken`). Revisions are positive
 * integers, strictly increasing across the whole bucket (the stream sequence in NATS).
 */

/** One stored value. */
export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** The bucket-wide sequence of this write. */
  readonly revision: number;
}

/** What a watch reports: a write, or a deletion (delete or purge) of a key. */
export type KvChange = { readonly kind: "put"; readonly entry: KvEntry } | { readonly kind: "delete"; readonly key: string; readonly revision: number };

export interface KvWatch {
  stop(): void;
}

export interface KvBucketOptions {
  /**
   * Every value expires this many ms after its last write (0: never). Expiry sends no watch
   * event: whoever needs to know must sweep (NATS KV behaves the same without delete markers).
   */
  ttl: number;
  /** Replicas in NATS (ignored in memory). */
  replicas?: number;
}

export interface Kv {
  /** The live value of `key`, or undefined when it never existed, was deleted or expired. */
  get(key: string): Promise<KvEntry | undefined>;
  /** Writes `key` only if it has no live value; resolves to the revision. Otherwise CONFLICT. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes `key` only if its live value is at `revision`; resolves to the new revision. Otherwise CONFLICT. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  /** Writes unconditionally; resolves to the revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /**
   * Deletes `key`. With `revision`, only if its live value is at that revision (else CONFLICT).
   * Deleting a missing key without a revision is a no-op.
   */
  delete(key: string, revision?: number): Promise<void>;
  /**
   * Live keys; with `filter`, those matching it (a subject pattern: `*` one token, `>` the rest)
   * or any of a list of them.
   */
  keys(filter?: string | readonly string[]): Promise<string[]>;
  /**
   * Reports the current live values first (as puts), then every change, in revision order, to
   * `onChange`, until stopped. `key` narrows to one key. Resolves once the initial values have
   * been delivered.
   */
  watch(onChange: (change: KvChange) => void, key?: string): Promise<KvWatch>;
}

/** Opens (creating when missing) a bucket by name: what the cluster layer asks a backend for. */
export interface KvProvider {
  bucket(name: string, opts: KvBucketOptions): Promise<Kv>;
}

/** True for a valid key: `[-/_=.a-zA-Z0-9]+`, not starting or ending with `.` (the NATS KV rule). */
export function isValidKvKey(key: string): boolean {
  return /^[-/_=.a-zA-Z0-9]+$/.test(key) && !key.startsWith(".") && !key.endsWith(".");
}

/** True for a valid bucket name: `[A-Za-z0-9_-]+`. */
export function isValidBucketName(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name);
}

/** Whether KV key `key` matches subject pattern `filter` (`*` one token, `>` one or more at the end), as NATS matches them. */
export function keyMatches(filter: string, key: string): boolean {
  const f = filter.split(".");
  const k = key.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return k.length > i;
    if (i >= k.length || (f[i] !== "*" && f[i] !== k[i])) return false;
  }
  return f.length === k.length;
}
