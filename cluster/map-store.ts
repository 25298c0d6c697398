import { ErrorCode, InternalError, ShoalError } from "../src/errors.js";
import type { Kv, KvWatch } from "./kv.js";
import { decodeMap, encodeMap, type ShardMap } from "../src/routing/shard-map.js";

/** A map as stored, with the KV revision every write compares against. */
export interface StoredMap {
  readonly map: ShardMap;
  readonly revision: number;
}

/** A node configured with another shard count than the cluster was created with. */
export class ShardCountMismatchError extends ShoalError {
  override name = "ShardCountMismatchError";
  constructor(
    readonly configured: number,
    readonly cluster: number,
  ) {
    super(
      ErrorCode.BAD_REQUEST,
      `this node is configured with ${configured} shards but the cluster was created with ${cluster}: ` +
        `start it with --shards ${cluster} (the shard count of a cluster never changes)`,
      { details: { configured, cluster } },
    );
  }
}

const MAP_KEY = "map";
const META_KEY = "meta";
/** Written once the cluster's event journal stream exists: from then on it must never be created again. */
const JOURNAL_KEY = "journal";
const te = new TextEncoder();
const td = new TextDecoder();

/**
 * The cluster's shard map in its KV bucket. Every write is a compare-and-set on the revision the
 * writer read, so of two leaders racing, one fails; the map also carries the writer's epoch.
 * JSON on the wire so a client in any language can read the map and route by itself:
 * `{"version", "epoch", "shardCount", "nodes": [ids], "owners": [index into nodes, or -1]}`.
 */
export class ShardMapStore {
  constructor(private readonly kv: Kv) {}

  /** Records the shard count at cluster creation; a later node with another count is refused. */
  async ensureShardCount(shardCount: number): Promise<void> {
    try {
      await this.kv.create(META_KEY, te.encode(JSON.stringify({ shardCount })));
      return;
    } catch (err) {
      if (!ShoalError.is(err, ErrorCode.CONFLICT)) throw err;
    }
    const entry = await this.kv.get(META_KEY);
    const stored = entry === undefined ? undefined : (JSON.parse(td.decode(entry.value)) as { shardCount?: unknown }).shardCount;
    if (typeof stored !== "number") throw new InternalError("the cluster's meta record is missing or malformed");
    if (stored !== shardCount) throw new ShardCountMismatchError(shardCount, stored);
  }

  /** Whether this cluster's event journal was created before (so a missing stream is a loss, not a start). */
  async journalRecorded(): Promise<boolean> {
    return (await this.kv.get(JOURNAL_KEY)) !== undefined;
  }

  /** Records that the journal stream exists (idempotent: the first writer wins, the rest agree). */
  async recordJournal(stream: string): Promise<void> {
    try {
      await this.kv.create(JOURNAL_KEY, te.encode(JSON.stringify({ stream })));
    } catch (err) {
      if (!ShoalError.is(err, ErrorCode.CONFLICT)) throw err;
    }
  }

  async read(): Promise<StoredMap | undefined> {
    const entry = await this.kv.get(MAP_KEY);
    return entry === undefined ? undefined : { map: decodeMap(entry.value), revision: entry.revision };
  }

  /**
   * Writes `map` if the stored map is still at `expectedRevision` (undefined: no map yet).
   * Resolves to the new revision; CONFLICT when someone wrote in between.
   */
  async write(map: ShardMap, expectedRevision: number | undefined): Promise<number> {
    const bytes = encodeMap(map);
    return expectedRevision === undefined ? this.kv.create(MAP_KEY, bytes) : this.kv.update(MAP_KEY, bytes, expectedRevision);
  }

  /** Reports the current map, then every new one. Undecodable maps are reported to `onError`. */
  watch(onMap: (m: StoredMap) => void, onError: (err: unknown) => void): Promise<KvWatch> {
    return this.kv.watch((change) => {
      if (change.kind !== "put") return;
      try {
        onMap({ map: decodeMap(change.entry.value), revision: change.entry.revision });
      } catch (err) {
        onError(err);
      }
    }, MAP_KEY);
  }
}
