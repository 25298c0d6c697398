import { StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { checkActorId, checkActorTypeName } from "../actor/names.js";
import type { MsgpackCodec } from "../codec/msgpack.js";
import { encodeToken } from "../codec/token.js";
import { inParallel } from "../in-parallel.js";
import { ShoalError, UnavailableError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ReminderStorage, StoredReminder } from "./storage.js";

/** Gets of one shard's reminders in flight at once. */
const PARALLEL_GETS = 32;

/**
 * Reminders in a JetStream KV bucket (`shoal-reminders-<cluster>`, history 1, read from the
 * leader), one key per reminder: `<shard>.<type>.<base64url(id)>.<base64url(name)>`, value the
 * MessagePack of the stored reminder. A shard's owner lists `<shard>.>`.
 */
export class KvReminderStorage implements ReminderStorage {
  private constructor(
    private readonly kv: KV,
    private readonly codec: MsgpackCodec,
    private readonly log: Logger,
  ) {}

  static async open(opts: { nc: NatsConnection; bucket: string; replicas: number; codec: MsgpackCodec; log: Logger }): Promise<KvReminderStorage> {
    const kv = await new Kvm(opts.nc).create(opts.bucket, { history: 1, replicas: opts.replicas, storage: StorageType.File, allow_direct: false });
    return new KvReminderStorage(kv, opts.codec, opts.log);
  }

  /** An existing bucket, for readers (`shoal reminders list`): never creates it. */
  static async attach(opts: { nc: NatsConnection; bucket: string; codec: MsgpackCodec; log: Logger }): Promise<KvReminderStorage> {
    const kv = await new Kvm(opts.nc).open(opts.bucket, { allow_direct: false });
    return new KvReminderStorage(kv, opts.codec, opts.log);
  }

  async put(r: StoredReminder): Promise<void> {
    await typed(() => this.kv.put(reminderKey(r), this.codec.encode(r)));
  }

  async delete(r: Pick<StoredReminder, "shard" | "type" | "id" | "name">): Promise<void> {
    await typed(() => this.kv.delete(reminderKey(r)));
  }

  async advance(r: StoredReminder, next: StoredReminder | undefined): Promise<void> {
    const key = reminderKey(r);
    const e = await this.kv.get(key);
    if (e === null || e.operation !== "PUT") return;
    const stored = this.decode(key, e.value);
    if (stored === undefined || stored.set !== r.set || stored.n !== r.n) return;
    try {
      if (next === undefined) await this.kv.delete(key, { previousSeq: e.revision });
      else await this.kv.update(key, this.codec.encode(next), e.revision);
    } catch (err) {
      // A turn wrote it since our read: its setting wins.
      if (!/wrong last sequence/i.test(String((err as Error)?.message))) throw err;
    }
  }

  async loadShard(shard: number): Promise<StoredReminder[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(`${shard}.>`)) keys.push(k);
    const out: StoredReminder[] = [];
    await inParallel(keys, PARALLEL_GETS, async (key) => {
      const e = await this.kv.get(key);
      if (e === null || e.operation !== "PUT") return;
      const r = this.decode(key, e.value);
      if (r !== undefined && r.shard === shard) out.push(r);
    });
    return out;
  }

  /** The reminders of one actor, for `shoal reminders list` (any reader of the bucket). */
  async listActor(shard: number, type: string, id: string): Promise<StoredReminder[]> {
    const out: StoredReminder[] = [];
    for await (const key of await this.kv.keys(`${shard}.${type}.${encodeToken(id)}.>`)) {
      const e = await this.kv.get(key);
      const r = e === null || e.operation !== "PUT" ? undefined : this.decode(key, e.value);
      if (r !== undefined) out.push(r);
    }
    return out.sort((a, b) => a.due - b.due);
  }

  /** A stored value, checked; anything malformed is logged and skipped (it cannot fire). */
  private decode(key: string, bytes: Uint8Array): StoredReminder | undefined {
    try {
      const r = this.codec.decode(new Uint8Array(bytes)) as StoredReminder;
      const int = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
      checkActorTypeName(r.type);
      checkActorId(r.id);
      checkActorId(r.name);
      if (!int(r.shard) || !int(r.due) || !int(r.set) || !int(r.n) || r.msg === undefined) throw new TypeError("fields out of range");
      if (r.every !== undefined && !(int(r.every) && r.every > 0)) throw new TypeError("bad every");
      if (r.cron !== undefined && typeof r.cron !== "string") throw new TypeError("bad cron");
      return r;
    } catch (err) {
      this.log.warn({ err, key }, "a stored reminder is malformed; skipped");
      return undefined;
    }
  }
}

/** A raw client failure (a timeout, no responders while JetStream elects) becomes UNAVAILABLE, which callers retry. */
async function typed<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (ShoalError.is(err)) throw err;
    throw new UnavailableError(`reminder storage unavailable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/** The key of one reminder: `<shard>.<type>.<base64url(id)>.<base64url(name)>`. */
export function reminderKey(r: Pick<StoredReminder, "shard" | "type" | "id" | "name">): string {
  return `${r.shard}.${r.type}.${encodeToken(r.id)}.${encodeToken(r.name)}`;
}
