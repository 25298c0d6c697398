import type { NatsConnection } from "@nats-io/transport-node";
import { ProjectionBucket } from "./bucket.js";
import type { Checkpoint, ProjectionMeta } from "./layout.js";

/** An entry of a view, with the build that served it. */
export interface ViewEntry<V> {
  /** The value the handler set. */
  readonly value: V;
  /** The build read (the serving one when read). */
  readonly build: number;
  /** The entry's revision in the bucket. */
  readonly revision: number;
}

/**
 * Reads a projection's KV view from outside the cluster (an app, `shoal view`). Each read finds
 * the serving build in `_meta`, then the entry, both from the stream leader: after a rebuild's
 * switch, no read returns less than a read before it did.
 *
 * ```ts
 * const balances = await ProjectionView.open<BalanceRow>(nc, "demo", "account-balances");
 * const row = await balances.get("alice"); // {value: {balance, version}, build, revision} or undefined
 * ```
 */
export class ProjectionView<V = unknown> {
  private constructor(private readonly bucket: ProjectionBucket) {}

  /** Opens the view of projection `name` in `cluster`; UNAVAILABLE when no node has made it. */
  static async open<V = unknown>(nc: NatsConnection, cluster: string, name: string): Promise<ProjectionView<V>> {
    return new ProjectionView<V>(await ProjectionBucket.open({ nc, cluster, name }));
  }

  /** The entry for `key` in the serving build, or undefined. */
  async get(key: string): Promise<ViewEntry<V> | undefined> {
    const meta = await this.meta();
    const e = await this.bucket.entry<V>(meta.serving, key);
    return e.value === undefined ? undefined : { value: e.value, build: meta.serving, revision: e.revision };
  }

  /** The builds and which serves. */
  async meta(): Promise<ProjectionMeta> {
    const { value } = await this.bucket.meta();
    if (value === undefined) throw new Error(`projection bucket ${this.bucket.name} has no _meta`);
    return value;
  }

  /** The checkpoints of one build (default: the serving one), by partition; undefined where a partition never started. */
  async checkpoints(build?: number): Promise<(Checkpoint | undefined)[]> {
    const meta = await this.meta();
    return (await this.bucket.checkpoints(meta, build ?? meta.serving)).map((c) => c.value);
  }
}
