import type { ProjectionBucket } from "../../src/projection/bucket.js";
import { viewKey } from "../../src/projection/layout.js";
import type { ViewWriter } from "../../src/projection/spec.js";

/** Longest view key, in UTF-8 bytes, and largest view value, as JSON. */
export const MAX_VIEW_KEY_BYTES = 512;
export const MAX_VIEW_VALUE_BYTES = 256 * 1024;

/** One write of a commit: a stored key, its JSON (undefined: delete) and the revision it expects. */
export interface StagedWrite {
  readonly key: string;
  readonly json: string | undefined;
  readonly revision: number;
}

interface Known {
  json: string | undefined;
  revision: number;
}

/**
 * A partition's view between commits: what it committed (a bounded cache of JSON and revisions),
 * what the events since its checkpoint staged, and what the current event stages (kept when its
 * handler returns, dropped when it throws). Values are held as JSON, so a handler that changes an
 * object it read changes nothing until it `set`s it.
 */
export class ViewStage<V> implements ViewWriter<V> {
  private readonly known = new Map<string, Known>();
  private readonly staged = new Map<string, string | undefined>();
  private readonly turn = new Map<string, string | undefined>();
  /** Stored keys written outside the view (markers), with the revision each expects. */
  private readonly marks = new Map<string, { json: string; revision: number }>();

  constructor(
    private readonly bucket: ProjectionBucket,
    private readonly build: number,
    private readonly cacheSize = 100_000,
  ) {}

  async get(key: string): Promise<V | undefined> {
    const stored = storedKey(this.build, key);
    const json = this.turn.has(stored) ? this.turn.get(stored) : this.staged.has(stored) ? this.staged.get(stored) : (await this.load(stored)).json;
    return json === undefined ? undefined : (JSON.parse(json) as V);
  }

  set(key: string, value: V): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`view value for ${JSON.stringify(key)} is not JSON`);
    if (json.length > MAX_VIEW_VALUE_BYTES) throw new RangeError(`view value for ${JSON.stringify(key)} is over ${MAX_VIEW_VALUE_BYTES} bytes`);
    this.turn.set(storedKey(this.build, key), json);
  }

  delete(key: string): void {
    this.turn.set(storedKey(this.build, key), undefined);
  }

  /** Stages a stored key outside the view, expecting `revision` (0: absent). */
  mark(stored: string, value: unknown, revision: number): void {
    this.marks.set(stored, { json: JSON.stringify(value), revision });
  }

  /** The current event's writes join the staged ones (its handler returned). */
  keep(): void {
    for (const [k, v] of this.turn) this.staged.set(k, v);
    this.turn.clear();
  }

  /** The current event's writes are forgotten (its handler threw). */
  drop(): void {
    this.turn.clear();
  }

  /** Stored keys a commit would write. */
  get size(): number {
    return this.staged.size + this.marks.size;
  }

  /** The writes of a commit, each expecting the revision last seen (read now when never seen). */
  async writes(): Promise<StagedWrite[]> {
    const out: StagedWrite[] = [];
    for (const [key, json] of this.staged) out.push({ key, json, revision: (await this.load(key)).revision });
    for (const [key, m] of this.marks) out.push({ key, json: m.json, revision: m.revision });
    return out;
  }

  /** The writes landed at these revisions: they are what is stored now. */
  committed(writes: readonly StagedWrite[], revisions: readonly number[]): void {
    writes.forEach((w, i) => {
      if (this.marks.has(w.key)) return;
      this.remember(w.key, { json: w.json, revision: revisions[i]! });
    });
    this.staged.clear();
    this.marks.clear();
  }

  /** Forgets everything: after a failed commit, the stored view is read again (no key is guessed absent). */
  reset(): void {
    this.fresh = false;
    this.known.clear();
    this.staged.clear();
    this.turn.clear();
    this.marks.clear();
  }

  /**
   * Set while the partition's view is known to have nothing of its own yet (it claimed at the
   * start of the journal and has never had a commit refused): a key it has not cached is taken
   * as absent, without a read. A wrong guess costs one refused commit (the write expects
   * revision 0), after which the runner clears this and reads again.
   */
  fresh = false;

  private async load(stored: string): Promise<Known> {
    const hit = this.known.get(stored);
    if (hit !== undefined) return hit;
    if (this.fresh && this.known.size < this.cacheSize) return { json: undefined, revision: 0 };
    const e = await this.bucket.kv.get(stored);
    const known: Known = e === null || e.operation !== "PUT" ? { json: undefined, revision: e?.revision ?? 0 } : { json: e.string(), revision: e.revision };
    this.remember(stored, known);
    return known;
  }

  private remember(stored: string, k: Known): void {
    this.known.delete(stored);
    this.known.set(stored, k);
    if (this.known.size > this.cacheSize) this.known.delete(this.known.keys().next().value!);
  }
}

function storedKey(build: number, key: string): string {
  if (typeof key !== "string" || key.length === 0) throw new TypeError("a view key must be a non-empty string");
  if (key.length > MAX_VIEW_KEY_BYTES || Buffer.byteLength(key, "utf8") > MAX_VIEW_KEY_BYTES) {
    throw new RangeError(`view key longer than ${MAX_VIEW_KEY_BYTES} UTF-8 bytes`);
  }
  return viewKey(build, key);
}
