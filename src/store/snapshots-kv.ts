import { type JetStreamManager, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { MsgpackCodec } from "../codec/msgpack.js";
import { BadRequestError, InternalError, UnavailableError } from "../errors.js";
import { roundTrip } from "./checks.js";

/** A snapshot as stored: `seq` is the stream sequence of the batch that reached `version` (0 = unknown). */
export interface StoredSnapshot {
  readonly version: number;
  readonly state: unknown;
  readonly seq: number;
  /** The runtime's bookkeeping at this version, if any. */
  readonly meta?: unknown;
}

/**
 * Snapshots in a KV bucket (history 1): the newest one per actor key. Reads go to the stream
 * leader (no direct get), so a snapshot is visible to every reader as soon as it is saved.
 */
export class SnapshotBucket {
  private constructor(
    private readonly kv: KV,
    private readonly bucket: string,
    private readonly codec: MsgpackCodec,
    private readonly maxPayload: number,
  ) {}

  /** Creates the bucket (history 1, file storage) or, with `create: false`, requires it to exist. */
  static async open(opts: {
    nc: NatsConnection;
    jsm: JetStreamManager;
    bucket: string;
    replicas: number;
    create: boolean;
    codec: MsgpackCodec;
    /** Largest message the server accepts. */
    maxPayload: number;
  }): Promise<SnapshotBucket> {
    const kvm = new Kvm(opts.nc);
    let kv: KV;
    if (opts.create) {
      kv = await kvm.create(opts.bucket, { history: 1, replicas: opts.replicas, storage: StorageType.File, allow_direct: false });
    } else {
      try {
        await opts.jsm.streams.info(`KV_${opts.bucket}`);
      } catch (err) {
        throw new UnavailableError(`snapshot bucket ${opts.bucket} does not exist (open with create: true to create it)`, {
          cause: err,
        });
      }
      kv = await kvm.open(opts.bucket, { allow_direct: false });
    }
    return new SnapshotBucket(kv, opts.bucket, opts.codec, opts.maxPayload);
  }

  async get(key: string): Promise<StoredSnapshot | undefined> {
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== "PUT") return undefined;
    let value: unknown;
    try {
      value = this.codec.decode(new Uint8Array(entry.value));
    } catch (err) {
      throw this.malformed(key, `does not decode: ${(err as Error).message}`, err);
    }
    const { version, state, seq, meta } = (value ?? {}) as Partial<StoredSnapshot>;
    if (!isCount(version) || !isCount(seq)) throw this.malformed(key, "lacks a valid version or seq");
    return meta === undefined ? { version, state, seq } : { version, state, seq, meta };
  }

  async put(key: string, snapshot: StoredSnapshot): Promise<void> {
    const { bytes } = roundTrip(this.codec, snapshot, "snapshot");
    if (bytes.byteLength + 4096 > this.maxPayload) {
      throw new BadRequestError(`snapshot of ${bytes.byteLength} bytes exceeds the server's limit of ${this.maxPayload}`, {
        details: { limit: "maxPayload", size: bytes.byteLength, max: this.maxPayload },
      });
    }
    await this.kv.put(key, bytes);
  }

  private malformed(key: string, reason: string, cause?: unknown): InternalError {
    return new InternalError(`malformed snapshot ${this.bucket}/${key}: ${reason}`, { cause, details: { key, reason } });
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
