import { ACTOR_TYPE_PATTERN, checkClusterName } from "./actor/names.js";
import { decodeToken, encodeToken } from "./codec/token.js";
import type { ActorKey } from "./store/types.js";

/**
 * Every name a Shoal cluster uses on NATS: subjects, the ingress queue group, the event stream,
 * the KV buckets, and the keys that ids become. They are a contract with everything else that
 * reads a cluster (tools, clients in other languages, the NATS permissions an operator writes):
 * change one only with a migration.
 *
 * What goes into a name:
 * - the cluster name, which matches `CLUSTER_NAME_PATTERN` (`[A-Za-z0-9_-]`, no character NATS
 *   treats specially in subjects, streams or buckets) — checked by the functions that name a
 *   whole cluster's things, and by every part before it starts;
 * - actor type names: identifiers checked by `ACTOR_TYPE_PATTERN`, used as they are;
 * - actor ids and node ids: data, any UTF-8, so always {@link encodeToken} (unpadded base64url,
 *   `[A-Za-z0-9_-]`) and never raw — an id holding `.`, `*`, `>` or whitespace stays one token and
 *   can never name another node's, actor's or cluster's subject.
 *
 * The names of one node or one actor are built on hot paths (every node batch, every append),
 * so they do not check the cluster name again.
 */

/** The subjects (and queue group) a whole cluster uses. All its subjects live under `shoal.<cluster>.`. */
export interface ClusterSubjects {
  /** `shoal.<cluster>.ask`: the ingress, request/reply for any NATS client (JSON or MessagePack). */
  ask: string;
  /** `shoal-<cluster>-ingress`: the queue group every node serves {@link ask} in. */
  askQueue: string;
  /** `shoal.<cluster>.events`: cluster events (joins, leaves, leaders, maps, migrations), JSON. */
  events: string;
  /** `shoal.<cluster>.journal.>`: every actor's journal, the subjects of the event stream. */
  journal: string;
  /** `shoal.<cluster>.load.*`: every node's load reports ({@link loadSubject}), which the leader subscribes to. */
  loads: string;
}

/** Subjects of one cluster; throws `BAD_REQUEST` for a cluster name that could not be one. */
export function clusterSubjects(cluster: string): ClusterSubjects {
  const base = `shoal.${checkClusterName(cluster)}`;
  return {
    ask: `${base}.ask`,
    askQueue: `shoal-${cluster}-ingress`,
    events: `${base}.events`,
    journal: `${base}.journal.>`,
    loads: `${base}.load.*`,
  };
}

/** The KV buckets of one cluster. */
export interface ClusterBuckets {
  /** `shoal-members-<cluster>`: one membership record per node, under {@link memberKey} (TTL `memberTtl`). */
  members: string;
  /** `shoal-leader-<cluster>`: the leader lease, key `leader` (TTL `leaderTtl`). */
  leader: string;
  /** `shoal-map-<cluster>`: the shard map (`map`) and what the cluster was created with (`meta`, `journal`). */
  map: string;
  /** `shoal-snapshots-<cluster>`: actor snapshots, under {@link snapshotKey}. */
  snapshots: string;
  /** `shoal-reminders-<cluster>`: durable reminders, under `<shard>.<type>.<token(id)>.<token(name)>`. */
  reminders: string;
  /** `shoal-keepalive-<cluster>`: one key per keep-alive actor, under {@link keepAliveKey}: what a shard's new owner starts. */
  keepAlive: string;
  /** `shoal-pins-<cluster>`: tenant pins (`shoal pin set`), under `<type>.<token(tenant)>`. */
  pins: string;
}

/** KV bucket names of one cluster; throws `BAD_REQUEST` for a cluster name that could not be one. */
export function clusterBuckets(cluster: string): ClusterBuckets {
  checkClusterName(cluster);
  return {
    members: `shoal-members-${cluster}`,
    leader: `shoal-leader-${cluster}`,
    map: `shoal-map-${cluster}`,
    snapshots: `shoal-snapshots-${cluster}`,
    reminders: `shoal-reminders-${cluster}`,
    keepAlive: `shoal-keepalive-${cluster}`,
    pins: `shoal-pins-${cluster}`,
  };
}

/** `SHOAL_EVENTS_<cluster>`: the JetStream stream holding the cluster's journals ({@link ClusterSubjects.journal}). */
export function streamName(cluster: string): string {
  return `SHOAL_EVENTS_${checkClusterName(cluster)}`;
}

/** `shoal.<cluster>.journal.<type>.<token(id)>`: one actor's journal. `key.type` must be a checked type name. */
export function journalSubject(cluster: string, key: ActorKey): string {
  return `shoal.${cluster}.journal.${key.type}.${encodeToken(key.id)}`;
}

/** `<type>.<token(id)>`: the key of an actor's snapshot in {@link ClusterBuckets.snapshots}. */
export function snapshotKey(key: ActorKey): string {
  return `${key.type}.${encodeToken(key.id)}`;
}

/**
 * `<shard>.<type>.<token(id)>`: the key of a keep-alive actor in {@link ClusterBuckets.keepAlive},
 * first by shard, so a shard's owner lists its actors with {@link keepAliveShardFilter}.
 */
export function keepAliveKey(shard: number, key: ActorKey): string {
  return `${shard}.${key.type}.${encodeToken(key.id)}`;
}

/** `<shard>.>`: the keys of one shard's keep-alive actors. */
export function keepAliveShardFilter(shard: number): string {
  return `${shard}.>`;
}

/** The shard and actor a {@link keepAliveKey} names; undefined for a key that is not one (never written by Shoal). */
export function parseKeepAliveKey(k: string): { shard: number; key: ActorKey } | undefined {
  const parts = k.split(".");
  if (parts.length !== 3) return undefined;
  const [shard, type, token] = parts as [string, string, string];
  if (!/^(0|[1-9][0-9]{0,8})$/.test(shard) || !ACTOR_TYPE_PATTERN.test(type) || token === "") return undefined;
  const id = decodeToken(token);
  // base64url decoding skips what is not in its alphabet: only a token that encodes back is one.
  if (encodeToken(id) !== token) return undefined;
  return { shard: Number(shard), key: { type, id } };
}

/** `<token(id)>`: the key of a node's record in {@link ClusterBuckets.members}. */
export function memberKey(nodeId: string): string {
  return encodeToken(nodeId);
}

/** `shoal.<cluster>.node.<token(id)>.rpc`: where a node serves its peers' request batches (MessagePack). */
export function rpcSubject(cluster: string, nodeId: string): string {
  return nodeSubject(cluster, nodeId, "rpc");
}

/**
 * `shoal.<cluster>.node.<token(id)>.re`: the prefix of the subjects a node reads its peers'
 * reply batches on; the replies to its batch number `n` come on `<prefix>.<n>`.
 */
export function replySubjectPrefix(cluster: string, nodeId: string): string {
  return nodeSubject(cluster, nodeId, "re");
}

/**
 * `shoal.<cluster>.node.<token(id)>.ask`: one node's own ingress — the contract of
 * {@link ClusterSubjects.ask}, served by that node alone (no queue group). A client that follows
 * the shard map sends each call here, to its owner's node, and saves the hop from a node that
 * does not own the actor; a node that does not (or no longer) own it routes it on as usual.
 */
export function nodeAskSubject(cluster: string, nodeId: string): string {
  return nodeSubject(cluster, nodeId, "ask");
}

/**
 * `shoal.<cluster>.node.<token(id)>.asks`: one node's batch ingress — a JSON (or MessagePack)
 * array of requests of the {@link ClusterSubjects.ask} contract (asks and sends), answered with
 * one message holding the array of their answers, in order. What `ShoalClient` sends when it
 * has several calls for one node at once.
 */
export function nodeBatchSubject(cluster: string, nodeId: string): string {
  return nodeSubject(cluster, nodeId, "asks");
}

/**
 * `shoal.<cluster>.node.<token(id)>.status`: where a node answers requests for its status (JSON,
 * to a request with an empty body). A request with a body is a liveness probe, answered with an
 * empty message; *no responders* means the node's connection is gone.
 */
export function statusSubject(cluster: string, nodeId: string): string {
  return nodeSubject(cluster, nodeId, "status");
}

/**
 * `shoal.<cluster>.load.<token(id)>`: where a node publishes its load report (MessagePack, core
 * NATS, no reply) every report interval, for the leader ({@link ClusterSubjects.loads}).
 */
export function loadSubject(cluster: string, nodeId: string): string {
  return `shoal.${cluster}.load.${encodeToken(nodeId)}`;
}

/** The node id a {@link loadSubject} names; undefined for a subject that is not one. */
export function loadSubjectNode(cluster: string, subject: string): string | undefined {
  const prefix = `shoal.${cluster}.load.`;
  if (!subject.startsWith(prefix)) return undefined;
  const token = subject.slice(prefix.length);
  if (token === "" || token.includes(".")) return undefined;
  const id = decodeToken(token);
  // base64url decoding skips what is not in its alphabet: only a token that encodes back is one.
  return encodeToken(id) === token ? id : undefined;
}

/** `shoal.<cluster>.node.<token(id)>.<leaf>`: every subject of one node is under its own token. */
/** `shoal.<cluster>.node.<token(id)>.admin`: where a node takes operators' requests (JSON: an actor's replay). */
export function adminSubject(cluster: string, nodeId: string): string {
  return nodeSubject(cluster, nodeId, "admin");
}

function nodeSubject(cluster: string, nodeId: string, leaf: string): string {
  return `shoal.${cluster}.node.${encodeToken(nodeId)}.${leaf}`;
}
