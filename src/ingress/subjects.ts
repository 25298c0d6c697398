import { checkClusterName } from "../actor/names.js";

/** Subjects of one cluster. Everything a cluster puts on NATS lives under `shoal.<cluster>.`. */
export function clusterSubjects(cluster: string) {
  const base = `shoal.${checkClusterName(cluster)}`;
  return {
    /** Ingress for any NATS client: request/reply, served by every node in one queue group. */
    ask: `${base}.ask`,
    askQueue: `shoal-${cluster}-ingress`,
    /** Cluster events (joins, leaves, leaders, plans, migrations). */
    events: `${base}.events`,
  };
}

export const MSGPACK_CONTENT_TYPE = "application/msgpack";
