import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { checkClusterName } from "../actor/names.js";
import { BadRequestError, UnavailableError } from "../errors.js";
import { PROJECTION_NAME_PATTERN } from "./define.js";
import { checkpointKey, FIRST_CHECKPOINT, type Checkpoint, META_KEY, type ProjectionMeta, projectionBucket, viewKey } from "./layout.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A JSON value as the bucket stores it. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A stored value and the revision to compare-and-set against (0: absent). */
export interface Revised<T> {
  readonly value: T | undefined;
  readonly revision: number;
}

/** How to open a projection's bucket. */
export interface OpenBucketOptions {
  nc: NatsConnection;
  cluster: string;
  name: string;
  /** Create it when missing (nodes do; readers do not). */
  create?: { replicas: number };
}

/**
 * A projection's KV bucket (layout in `layout.ts`): its meta, checkpoints and view entries, read
 * from the stream leader (no direct get) so a reader never sees a value older than one acknowledged.
 */
export class ProjectionBucket {
  /** JetStream on the same connection (atomic batches are written with it). */
  readonly js: JetStreamClient;

  private constructor(
    readonly nc: NatsConnection,
    readonly kv: KV,
    readonly jsm: JetStreamManager,
    /** The bucket's name, and the subject prefix of its keys (`$KV.<bucket>.`). */
    readonly name: string,
  ) {
    this.js = jetstream(nc);
  }

  static async open(opts: OpenBucketOptions): Promise<ProjectionBucket> {
    const cluster = checkClusterName(opts.cluster);
    if (!PROJECTION_NAME_PATTERN.test(opts.name)) throw new BadRequestError(`no projection can be named ${JSON.stringify(opts.name)}`);
    const name = projectionBucket(cluster, opts.name);
    const kvm = new Kvm(opts.nc);
    const jsm = await jetstreamManager(opts.nc);
    let kv: KV;
    if (opts.create === undefined) {
      try {
        await jsm.streams.info(`KV_${name}`);
      } catch {
        throw new UnavailableError(`projection ${opts.name} has no bucket in cluster ${cluster} (has a node with it ever started?)`);
      }
      kv = await kvm.open(name);
    } else {
      kv = await kvm.create(name, { history: 1, replicas: opts.create.replicas, storage: StorageType.File, allow_direct: false });
      // A commit is one atomic batch: the bucket's stream must allow them (nats-server ≥ 2.12).
      const info = await jsm.streams.info(`KV_${name}`);
      if (info.config.allow_atomic !== true) {
        const updated = await jsm.streams.update(`KV_${name}`, { ...info.config, allow_atomic: true });
        if (updated.config.allow_atomic !== true) {
          throw new UnavailableError(
            `projection ${opts.name} needs atomic batch publish: nats-server >= 2.12 (this one is ${opts.nc.info?.version ?? "older"})`,
          );
        }
      }
    }
    return new ProjectionBucket(opts.nc, kv, jsm, name);
  }

  /** The subject a key is written on (for atomic batches). */
  subject(key: string): string {
    return `$KV.${this.name}.${key}`;
  }

  async json<T>(key: string): Promise<Revised<T>> {
    const e = await this.kv.get(key);
    if (e === null || e.operation !== "PUT") return { value: undefined, revision: e?.revision ?? 0 };
    return { value: JSON.parse(decoder.decode(e.value)) as T, revision: e.revision };
  }

  meta(): Promise<Revised<ProjectionMeta>> {
    return this.json<ProjectionMeta>(META_KEY);
  }

  async checkpoint(build: number, partition: number): Promise<Revised<Checkpoint>> {
    const c = await this.json<Checkpoint>(checkpointKey(build, partition));
    return { value: c.value === undefined ? undefined : { ...FIRST_CHECKPOINT, ...c.value }, revision: c.revision };
  }

  /** Every checkpoint of one build as `meta` lists it, by partition, with its revision (value undefined: never started). */
  checkpoints(meta: ProjectionMeta, build: number): Promise<Revised<Checkpoint>[]> {
    const n = meta.builds[String(build)]?.partitions ?? 0;
    return Promise.all(Array.from({ length: n }, (_, k) => this.checkpoint(build, k)));
  }

  /** The entry `key` of build `build`'s view. */
  async entry<V>(build: number, key: string): Promise<Revised<V>> {
    return this.json<V>(viewKey(build, key));
  }

  /** Removes every key matching `filter` (e.g. a retired build's `b2.>`). */
  async purge(filter: string): Promise<void> {
    await this.jsm.streams.purge(`KV_${this.name}`, { filter: this.subject(filter) });
  }

  /** Compare-and-set of a JSON value (revision 0: create). Resolves to the new revision. */
  async write(key: string, value: unknown, revision: number): Promise<number> {
    const data = encodeJson(value);
    return revision === 0 ? this.kv.create(key, data) : this.kv.update(key, data, revision);
  }
}
