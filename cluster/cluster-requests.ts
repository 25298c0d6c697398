import { addSparse, LATENCY_BUCKETS, quantileMs, round3, toSparse } from "./latency-histogram.js";
import { type RequestRates, topCodes } from "./request-stats.js";

/** One node's part of a type's requests (or of all of them), in {@link MergedRequestRates}. */
export interface NodeRequestRates {
  /** The node's id. */
  node: string;
  /** Requests its ingress handled in its window. */
  requests: number;
  /** Of them, answered with an error. */
  errors: number;
  /** Requests per second. */
  perSec: number;
  /** `errors / requests`. */
  errorRatio: number;
  /** Its median latency (ms), asks and sends; null with none. */
  p50Ms: number | null;
  /** Its 99th percentile (ms); null with none. */
  p99Ms: number | null;
}

/** Requests summed over the nodes that handled them; quantiles from their merged histograms. */
export interface MergedRequestRates extends RequestRates {
  /** Each node with requests of it, by id. */
  nodes: NodeRequestRates[];
}

/** One actor type's requests over the cluster. */
export interface ClusterTypeRequests extends MergedRequestRates {
  /** The actor type (`other`: types some node does not host). */
  type: string;
}

/**
 * The ingress requests of a cluster (`GET /cluster`'s `requests`): what each member's
 * `NodeStatus.requests` says, per type and in total, over each node's own window (10 s).
 */
export interface ClusterRequests {
  /** Every type together. */
  total: MergedRequestRates;
  /** Each type some node handled requests of, by name. */
  types: ClusterTypeRequests[];
}

/** Types read from one node's status; a node with more is cut there (a node hosts a handful). */
const MAX_TYPES = 64;
/** Error codes read per entry. */
const MAX_CODES = 32;

/**
 * Merges the `requests` of the members' statuses. A status is another node's JSON, so every
 * field is checked: an entry that is not a well-formed {@link RequestRates} (or a status
 * without any, from a node older than these stats) is left out, never thrown on.
 */
export function mergeRequests(statuses: ReadonlyArray<{ node: string; requests?: unknown }>): ClusterRequests {
  const total = new Merge();
  const types = new Map<string, Merge>();
  for (const s of statuses) {
    const r = s.requests;
    if (!isObject(r)) continue;
    total.add(s.node, r.total);
    for (const t of (Array.isArray(r.types) ? r.types : []).slice(0, MAX_TYPES)) {
      if (!isObject(t) || typeof t.type !== "string" || t.type.length === 0 || t.type.length > 256) continue;
      let m = types.get(t.type);
      if (m === undefined) {
        m = new Merge();
        types.set(t.type, m);
      }
      m.add(s.node, t);
    }
  }
  return {
    total: total.result(),
    types: [...types]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([type, m]) => ({ type, ...m.result() }))
      .filter((t) => t.requests > 0),
  };
}

class Merge {
  private readonly sums = { requests: 0, asks: 0, sends: 0, tells: 0, errors: 0, perSec: 0 };
  private readonly latency = new Float64Array(LATENCY_BUCKETS);
  private readonly codes = new Map<string, number>();
  private readonly nodes: NodeRequestRates[] = [];

  add(node: string, v: unknown): void {
    if (!isObject(v)) return;
    const n = {
      requests: count(v.requests),
      asks: count(v.asks),
      sends: count(v.sends),
      tells: count(v.tells),
      errors: count(v.errors),
      perSec: count(v.perSec),
    };
    if (n.requests === 0) return;
    for (const k of Object.keys(n) as Array<keyof typeof n>) this.sums[k] += n[k];
    addSparse(this.latency, v.latency);
    if (isObject(v.codes)) {
      for (const [code, c] of Object.entries(v.codes).slice(0, MAX_CODES)) {
        if (code.length <= 64) this.codes.set(code, (this.codes.get(code) ?? 0) + count(c));
      }
    }
    this.nodes.push({
      node,
      requests: n.requests,
      errors: n.errors,
      perSec: n.perSec,
      errorRatio: round3(Math.min(1, n.errors / n.requests)),
      p50Ms: ms(v.p50Ms),
      p99Ms: ms(v.p99Ms),
    });
  }

  result(): MergedRequestRates {
    const { requests, errors } = this.sums;
    return {
      ...this.sums,
      perSec: round3(this.sums.perSec),
      errorRatio: requests === 0 ? 0 : round3(Math.min(1, errors / requests)),
      p50Ms: quantileMs(this.latency, 0.5),
      p99Ms: quantileMs(this.latency, 0.99),
      codes: topCodes(this.codes),
      latency: toSparse(this.latency),
      nodes: this.nodes.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)),
    };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A finite number ≥ 0, else 0. */
function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** A finite number ≥ 0, else null. */
function ms(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : null;
}
