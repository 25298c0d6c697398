import type { Clock } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import { keepAliveKey, keepAliveShardFilter, parseKeepAliveKey } from "../src/nats-names.js";
import type { ActorKey } from "../src/store/types.js";
import type { Kv } from "./kv.js";

/** One keep-alive actor as recorded: its shard and key. */
export interface KeptAlive {
  readonly shard: number;
  readonly key: ActorKey;
}

/** Pauses before writing a record again after a failure the write may not survive (UNAVAILABLE, TIMEOUT). */
const RETRY_MS = [250, 1000, 4000, 15_000] as const;

/** Past this many shards, a listing reads every key once instead of one filter per shard. */
const MAX_FILTERS = 64;

const EMPTY = new Uint8Array(0);

/**
 * The durable set of keep-alive actors: one key per actor in the cluster's keep-alive bucket
 * (`<shard>.<type>.<token(id)>`, empty value), written when a message activates one and deleted
 * when it stops itself. A shard's owner lists the keys of the shards it gains and starts them.
 * Writes to one key go in the order they were asked (a stop and the next activation never
 * swap); a record that cannot be written is retried a few times, then logged.
 */
export class KeepAliveRecords {
  /** The last write asked per key, so the next one waits for it. */
  private readonly writing = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly kv: Kv,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Records a keep-alive actor (a record already there is left as it is). */
  record(shard: number, key: ActorKey): void {
    this.serially(
      keepAliveKey(shard, key),
      (k) => this.create(k),
      "could not record a keep-alive actor: it is not restarted if its node fails before a later activation records it",
    );
  }

  /** Deletes a keep-alive actor's record: it is kept alive no more. */
  forget(shard: number, key: ActorKey): void {
    this.serially(keepAliveKey(shard, key), (k) => this.kv.delete(k), "could not delete a keep-alive record: the actor is started again when its shard moves");
  }

  /** The keep-alive actors recorded in `shards`; keys that are not Shoal's are skipped. Rejects when the bucket cannot be read. */
  async list(shards: readonly number[]): Promise<KeptAlive[]> {
    if (shards.length === 0) return [];
    const wanted = new Set(shards);
    const keys = shards.length <= MAX_FILTERS ? await this.kv.keys(shards.map(keepAliveShardFilter)) : await this.kv.keys();
    const out: KeptAlive[] = [];
    for (const k of keys) {
      const parsed = parseKeepAliveKey(k);
      if (parsed === undefined) this.log.debug({ key: k.slice(0, 200) }, "skipped a key in the keep-alive bucket that is not one");
      else if (wanted.has(parsed.shard)) out.push(parsed);
    }
    return out;
  }

  /** Whether writes are still running (for tests). */
  get busy(): boolean {
    return this.writing.size > 0;
  }

  /** No more retries (the node is stopping); writes in flight finish. */
  stop(): void {
    this.stopped = true;
  }

  private serially(k: string, write: (k: string) => Promise<unknown>, failed: string): void {
    const before = this.writing.get(k) ?? Promise.resolve();
    const next = before.then(() => this.withRetries(k, write, failed));
    this.writing.set(k, next);
    void next.finally(() => {
      if (this.writing.get(k) === next) this.writing.delete(k);
    });
  }

  private async create(k: string): Promise<void> {
    try {
      await this.kv.create(k, EMPTY);
    } catch (err) {
      if (!ShoalError.is(err, ErrorCode.CONFLICT)) throw err; // recorded already
    }
  }

  private async withRetries(k: string, write: (k: string) => Promise<unknown>, failed: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write(k);
        return;
      } catch (err) {
        const pause = RETRY_MS[attempt];
        const transient = ShoalError.is(err, ErrorCode.UNAVAILABLE) || ShoalError.is(err, ErrorCode.TIMEOUT);
        if (!transient || pause === undefined || this.stopped) {
          this.log.error({ err, key: k }, failed);
          return;
        }
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, pause));
      }
    }
  }
}
