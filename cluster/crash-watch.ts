import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeParts } from "./assemble.js";
import { FailureDetector } from "./failure-detector.js";
import { probeStatus } from "./status.js";

/** Longest a probe waits for an answer; a timeout only means "cannot tell". */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Watches this node's peers for a closed connection (see {@link FailureDetector}): the leader
 * probes every member, the others probe the leader. A peer confirmed gone is declared gone at
 * once — its membership record deleted with a compare-and-set, so the leader re-plans its
 * shards — and if it held the leader key, this node campaigns without waiting out its lease.
 * Any node may do either: both are fenced writes, and the first to succeed is enough.
 */
export function watchForCrashes(nc: NatsConnection, parts: NodeParts): FailureDetector {
  const { cluster, nodeId, clock, timing, election, membership } = parts;
  const detector = new FailureDetector({
    clock,
    interval: timing.probeInterval,
    confirmAfter: timing.probeConfirm,
    probe: (id) => probeStatus(nc, cluster, id, PROBE_TIMEOUT_MS),
    targets: () => {
      if (election.isLeader()) return membership.records().flatMap((r) => (r.id === nodeId ? [] : [r.id]));
      const leader = election.leader?.id;
      return leader === undefined || leader === nodeId ? [] : [leader];
    },
    onGone: (id) => {
      election.presumeGone(id);
      void membership.declareGone(id);
    },
  });
  detector.start();
  return detector;
}
