import { StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { checkClusterName } from "../actor/names.js";
import { UnavailableError } from "../errors.js";
import { encodeJson, type Revised } from "./bucket.js";
import { type DeadLetter, deadLetterBucket, deadLetterKey } from "./layout.js";

const decoder = new TextDecoder();

/** A dead letter and the key it is stored under. */
export interface StoredDeadLetter extends DeadLetter {
  readonly key: string;
  readonly revision: number;
}

/**
 * The cluster's dead letters: the KV bucket `shoal-dlq-<cluster>` (a stream, kept until dropped),
 * one key per dead-lettered event, `<projection>.b<build>.<seq>-<index>`.
 */
export class DeadLetters {
  private constructor(readonly kv: KV) {}

  static async open(nc: NatsConnection, cluster: string, create?: { replicas: number }): Promise<DeadLetters> {
    const name = deadLetterBucket(checkClusterName(cluster));
    const kvm = new Kvm(nc);
    if (create !== undefined)
      return new DeadLetters(await kvm.create(name, { history: 1, replicas: create.replicas, storage: StorageType.File, allow_direct: false }));
    try {
      const kv = await kvm.open(name);
      await kv.status();
      return new DeadLetters(kv);
    } catch {
      throw new UnavailableError(`cluster ${cluster} has no dead-letter bucket ${name} (no projection has run in it)`);
    }
  }

  static key(d: Pick<DeadLetter, "projection" | "build" | "seq" | "index">): string {
    return deadLetterKey(d.projection, d.build, d.seq, d.index);
  }

  /** Stores (or replaces) a dead letter. */
  async put(d: DeadLetter): Promise<void> {
    await this.kv.put(DeadLetters.key(d), encodeJson(d));
  }

  async get(key: string): Promise<Revised<DeadLetter>> {
    const e = await this.kv.get(key);
    if (e === null || e.operation !== "PUT") return { value: undefined, revision: e?.revision ?? 0 };
    return { value: JSON.parse(decoder.decode(e.value)) as DeadLetter, revision: e.revision };
  }

  /** Replaces a dead letter if it is still at `revision`; resolves to the new revision. */
  async update(d: DeadLetter, revision: number): Promise<number> {
    return this.kv.update(DeadLetters.key(d), encodeJson(d), revision);
  }

  /** Every dead letter (of one projection), oldest event first. */
  async list(projection?: string): Promise<StoredDeadLetter[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(projection === undefined ? ">" : `${projection}.>`)) keys.push(k);
    const out: StoredDeadLetter[] = [];
    for (const key of keys) {
      const { value, revision } = await this.get(key);
      if (value !== undefined) out.push({ ...value, key, revision });
    }
    return out.sort((a, b) => a.projection.localeCompare(b.projection) || a.build - b.build || a.seq - b.seq || a.index - b.index);
  }

  async drop(key: string): Promise<void> {
    await this.kv.purge(key);
  }
}
