import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { streamName } from "../src/nats-names.js";
import { ProjectionBucket } from "../src/projection/bucket.js";
import { DeadLetters } from "../src/projection/dead-letters.js";
import { type Checkpoint, projectionBucket } from "../src/projection/layout.js";

/** One partition of one build, as `shoal projection status` shows it. */
export interface PartitionReport {
  readonly partition: number;
  readonly owner: string | null;
  /** Stream sequence every event up to which is done. */
  readonly checkpoint: number;
  /** Journal batches of the projection's subjects after the checkpoint, now. */
  readonly lag: number;
  /** Age of the first of them (s); 0 when caught up. */
  readonly lagSeconds: number;
  /** Events per second at the last commits. */
  readonly rate: number;
  readonly applied: number;
  readonly deadLettered: number;
  readonly skipped: number;
  /** When the checkpoint was last committed (ms). */
  readonly at: number;
  readonly stopped: string | null;
}

export interface BuildReport {
  readonly build: number;
  readonly role: "serving" | "building" | "retired";
  readonly partitions: PartitionReport[];
}

export interface ProjectionReport {
  readonly name: string;
  readonly serving: number;
  readonly building: number | null;
  readonly builds: BuildReport[];
  /** Dead letters waiting in the cluster's bucket. */
  readonly deadLetters: number;
}

/**
 * The projections of a cluster (all, or the one named), read from their buckets. With `exact`
 * (the default) each partition's lag is counted in the journal now; without, it is what the
 * partition reported at its last commit (cheap: for `shoal status` and the dashboard).
 */
export async function gatherProjectionStatus(nc: NatsConnection, cluster: string, only?: string, exact = true): Promise<ProjectionReport[]> {
  const prefix = projectionBucket(cluster, "");
  const names: string[] = [];
  for await (const s of new Kvm(nc).list()) if (s.bucket.startsWith(prefix)) names.push(s.bucket.slice(prefix.length));
  const wanted = names.filter((n) => only === undefined || n === only).sort();
  if (only !== undefined && wanted.length === 0) throw new Error(`cluster ${cluster} has no projection ${only}`);
  const dead = await DeadLetters.open(nc, cluster).then(
    (d) => d.list(),
    () => [],
  );
  const out: ProjectionReport[] = [];
  for (const name of wanted) {
    const bucket = await ProjectionBucket.open({ nc, cluster, name });
    const { value: meta } = await bucket.meta();
    if (meta === undefined) continue;
    const filters = (meta.subjects ?? ["*.*"]).map((s) => `shoal.${cluster}.journal.${s}`);
    const builds: BuildReport[] = [];
    for (const [role, build] of [
      ["serving", meta.serving],
      ["building", meta.building],
    ] as const) {
      if (build === undefined) continue;
      const cps = await bucket.checkpoints(meta, build);
      const partitions: PartitionReport[] = [];
      for (const [k, cp] of cps.entries()) partitions.push(await partitionReport(nc, cluster, filters, k, cp.value, exact));
      builds.push({ build, role, partitions });
    }
    out.push({ name, serving: meta.serving, building: meta.building ?? null, builds, deadLetters: dead.filter((d) => d.projection === name).length });
  }
  return out;
}

async function partitionReport(
  nc: NatsConnection,
  cluster: string,
  filters: string[],
  k: number,
  cp: Checkpoint | undefined,
  exact: boolean,
): Promise<PartitionReport> {
  const seq = cp?.seq ?? 0;
  const { lag, since } = exact
    ? await lagAfter(nc, cluster, filters, cp?.index === undefined ? seq + 1 : seq)
    : { lag: cp?.pending ?? 0, since: cp === undefined || cp.behindMs === 0 ? undefined : cp.at - cp.behindMs };
  return {
    partition: k,
    owner: cp?.owner ?? null,
    checkpoint: seq,
    lag,
    lagSeconds: lag === 0 || since === undefined ? 0 : Math.max(0, (Date.now() - since) / 1000),
    rate: cp?.rate ?? 0,
    applied: cp?.applied ?? 0,
    deadLettered: cp?.deadLettered ?? 0,
    skipped: cp?.skipped ?? 0,
    at: cp?.at ?? 0,
    stopped: cp?.stopped?.error ?? null,
  };
}

/** How many journal batches of `filters` are at or after `from`, and when the first was stored. */
async function lagAfter(nc: NatsConnection, cluster: string, filters: string[], from: number): Promise<{ lag: number; since?: number }> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(streamName(cluster), { filter_subjects: filters, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
  try {
    const info = await consumer.info();
    if (info.num_pending === 0) return { lag: 0 };
    const first = await consumer.next({ expires: 2000 });
    return { lag: info.num_pending, since: first === null ? undefined : Math.floor(first.info.timestampNanos / 1e6) };
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
