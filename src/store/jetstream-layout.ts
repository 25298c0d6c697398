import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { clusterSubjects, streamName } from "../nats-names.js";

/**
 * How the JetStream event store keeps things. This layout is a contract with every other reader
 * of the journal (tools, other languages): change it only with a migration. The names — stream,
 * journal subjects, snapshot bucket and keys — are in `src/nats-names.ts`.
 *
 * - stream `SHOAL_EVENTS_<cluster>` holds `shoal.<cluster>.journal.>`;
 * - an actor's journal is the subject `shoal.<cluster>.journal.<type>.<base64url(id)>`;
 * - one message per appended batch: payload a MessagePack array of the events — or, when the
 *   runtime stored bookkeeping with the batch (outgoing messages, the origin of the message it
 *   applied), the map `{e: [events…], m: meta}` — headers
 *   {@link Headers.version} (version after the batch), {@link Headers.count} (events in it)
 *   and {@link Headers.writer} (unique per append attempt, to recognise a retried write);
 *   `Nats-Msg-Id` is `<subject>@<expected version>`;
 * - snapshots live in the KV bucket `shoal-snapshots-<cluster>` under `<type>.<base64url(id)>`,
 *   value MessagePack `{version, state, seq, meta?}`.
 */
export const Headers = {
  version: "Shoal-Version",
  count: "Shoal-Count",
  writer: "Shoal-Writer",
} as const;

/** Deduplication window of the stream: how long a retried append is recognised by its msg id. */
export const DUPLICATE_WINDOW_MS = 120_000;

/** The msg id of the batch appended at `expectedVersion`: two writers of one version share it. */
export function batchMsgId(subject: string, expectedVersion: number): string {
  return `${subject}@${expectedVersion}`;
}

/** The stream as this store creates it. */
export function journalStreamConfig(cluster: string, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: streamName(cluster),
    subjects: [clusterSubjects(cluster).journal],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    allow_direct: true,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
}

/**
 * What is wrong with an existing stream for use as this cluster's journal (empty when it fits).
 * Any limit that deletes messages would silently lose events, so none is accepted.
 */
export function journalStreamProblems(config: StreamConfig, cluster: string, replicas: number | undefined): string[] {
  const problems: string[] = [];
  const journal = clusterSubjects(cluster).journal;
  if (!config.subjects?.includes(journal)) {
    problems.push(`subjects ${JSON.stringify(config.subjects ?? [])} do not include ${journal}`);
  }
  if (replicas !== undefined && config.num_replicas !== replicas) {
    problems.push(`it has ${config.num_replicas} replicas, ${replicas} were asked for`);
  }
  if (!config.allow_direct) problems.push("allow_direct is off");
  if ((config.duplicate_window ?? 0) < nanos(DUPLICATE_WINDOW_MS / 4)) {
    problems.push(`duplicate_window is shorter than ${DUPLICATE_WINDOW_MS / 4000}s`);
  }
  if (config.retention !== RetentionPolicy.Limits) problems.push(`retention is ${config.retention}, not limits`);
  const limits = { max_msgs: config.max_msgs, max_bytes: config.max_bytes, max_age: config.max_age };
  for (const [name, value] of Object.entries({ ...limits, max_msgs_per_subject: config.max_msgs_per_subject })) {
    if (typeof value === "number" && value > 0) problems.push(`${name} is ${value}: events would be deleted`);
  }
  return problems;
}
