import type { Clock } from "../src/clock.js";
import type { Verb } from "../src/codec/envelope.js";
import { LATENCY_BUCKETS, latencyBucket, quantileMs, round3, type SparseHistogram, toSparse } from "./latency-histogram.js";

/**
 * What a node's ingress handled over the last few seconds (counted by its `RequestStats`): requests from
 * clients (`ShoalClient`, any NATS client on `shoal.<cluster>.ask` or the node's own ingress
 * subject) that this node took and answered — whichever node runs the actor. Calls between
 * nodes, calls from inside actors and `ref(...)` calls made in a node's process are not counted.
 */
export interface RequestRates {
  /** Requests handled in the window, every verb. */
  requests: number;
  /** Of them, asks. */
  asks: number;
  /** Of them, sends. */
  sends: number;
  /** Of them, tells (answered once taken: no latency counted). */
  tells: number;
  /** Of them, answered with an error (anything but `ok`, or `accepted` for a tell). */
  errors: number;
  /** Requests per second over the window. */
  perSec: number;
  /** `errors / requests` (0 with no requests). */
  errorRatio: number;
  /** Median time from receipt to reply (ms) of the asks and sends, failed ones too; null with none. Within ±4.5 % (see `latency`). */
  p50Ms: number | null;
  /** 99th percentile of the same (ms); null with none. */
  p99Ms: number | null;
  /** Errors by code (at most 8 codes per type; the rest count as `other`). */
  codes: Record<string, number>;
  /**
   * The asks' and sends' latencies as `[bucket, count]`, bucket `i` holding `[2^(i/8), 2^((i+1)/8))`
   * microseconds: the cluster's quantiles are merged from these.
   */
  latency: SparseHistogram;
}

/** {@link RequestRates} of one actor type (a type this node does not host counts as `other`). */
export interface TypeRequestRates extends RequestRates {
  /** The actor type, or `other`. */
  type: string;
}

/** A node's ingress over the last {@link RequestStatsSummary.seconds} seconds (`NodeStatus.requests`). */
export interface RequestStatsSummary {
  /** The seconds the rates cover: the window, or less in a node's first seconds. */
  seconds: number;
  /** Every type together. */
  total: RequestRates;
  /** Each type with requests in the window, by name. */
  types: TypeRequestRates[];
}

/** The type name for requests of a type this node does not host (or that did not parse). */
export const OTHER_TYPE = "other";
/** Distinct error codes kept per type and second; further codes count as `other`. */
const MAX_CODES = 8;
const VERBS: Record<Verb, number> = { ask: 0, send: 1, tell: 2 };
/** Counts per slot: asks, sends, tells, errors. */
const COUNTS = 4;

/** One type's counts in a ring of one-second slots. */
class TypeWindow {
  /** The second (since the epoch) each slot counts; -1 for none yet. */
  readonly second: Float64Array;
  readonly counts: Float64Array;
  readonly latency: Uint32Array;
  readonly codes: Array<Map<string, number>>;

  constructor(slots: number) {
    this.second = new Float64Array(slots).fill(-1);
    this.counts = new Float64Array(slots * COUNTS);
    this.latency = new Uint32Array(slots * LATENCY_BUCKETS);
    this.codes = Array.from({ length: slots }, () => new Map<string, number>());
  }

  /** The slot of second `s`, emptied if it still held an older second. */
  slot(s: number): number {
    const i = s % this.second.length;
    if (this.second[i] === s) return i;
    this.second[i] = s;
    this.counts.fill(0, i * COUNTS, (i + 1) * COUNTS);
    this.latency.fill(0, i * LATENCY_BUCKETS, (i + 1) * LATENCY_BUCKETS);
    this.codes[i]!.clear();
    return i;
  }
}

/** What a {@link RequestStats} needs. */
export interface RequestStatsOptions {
  clock: Clock;
  /** Whether this node hosts `type`: any other type a client names counts as {@link OTHER_TYPE}, so clients cannot grow the set. */
  hosts: (type: string) => boolean;
  /** Seconds the rates and quantiles cover. Default 10. */
  window?: number;
}

/**
 * Rates, error ratios and latency quantiles of the requests a node's ingress handles, per actor
 * type, over a sliding window of one-second slots (default the last 10 s). Recording a request
 * is a few array increments (no allocation but a map entry per new error code); the summary
 * walks at most `window × 209` numbers per type, so it is cheap enough for every status.
 * Time is the injected clock's; durations are what the ingress measured.
 */
export class RequestStats {
  private readonly windows = new Map<string, TypeWindow>();
  private readonly window: number;
  private readonly startedAt: number;

  constructor(private readonly opts: RequestStatsOptions) {
    this.window = opts.window ?? 10;
    if (!Number.isInteger(this.window) || this.window < 1 || this.window > 3600) throw new RangeError(`window must be 1 to 3600 seconds, got ${this.window}`);
    this.startedAt = opts.clock.now();
  }

  /** An ingress `onAnswered` hook that records here, then calls `next` (the metrics', if any). */
  hook(next?: (type: string, verb: Verb, outcome: string, seconds: number) => void): (type: string, verb: Verb, outcome: string, seconds: number) => void {
    return (type, verb, outcome, seconds) => {
      this.record(type, verb, outcome, seconds);
      next?.(type, verb, outcome, seconds);
    };
  }

  /** Counts one request answered: its type, verb, outcome (`ok`, `accepted` or an error code) and seconds from receipt to reply. */
  record(type: string, verb: Verb, outcome: string, seconds: number): void {
    const name = this.opts.hosts(type) ? type : OTHER_TYPE;
    let w = this.windows.get(name);
    if (w === undefined) {
      w = new TypeWindow(this.window);
      this.windows.set(name, w);
    }
    const i = w.slot(Math.floor(this.opts.clock.now() / 1000));
    w.counts[i * COUNTS + (VERBS[verb] ?? 0)]! += 1;
    if (outcome !== "ok" && outcome !== "accepted") {
      w.counts[i * COUNTS + 3]! += 1;
      const codes = w.codes[i]!;
      const code = codes.has(outcome) || codes.size < MAX_CODES ? outcome : OTHER_TYPE;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    if (verb !== "tell") w.latency[i * LATENCY_BUCKETS + latencyBucket(seconds)]! += 1;
  }

  /** The window's rates per type and in total. */
  summary(): RequestStatsSummary {
    const now = this.opts.clock.now();
    const last = Math.floor(now / 1000);
    const first = last - this.window + 1;
    const seconds = Math.max(1, (now - Math.max(first * 1000, this.startedAt)) / 1000);
    const all = new Acc();
    const types: TypeRequestRates[] = [];
    for (const [type, w] of [...this.windows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const acc = new Acc();
      for (let i = 0; i < w.second.length; i++) {
        const s = w.second[i]!;
        if (s >= first && s <= last) acc.addSlot(w, i);
      }
      if (acc.requests() === 0) continue;
      all.addAcc(acc);
      types.push({ type, ...acc.rates(seconds) });
    }
    return { seconds: round3(seconds), total: all.rates(seconds), types };
  }
}

/** Sums of slots, then of types. */
class Acc {
  readonly counts = new Float64Array(COUNTS);
  readonly latency = new Float64Array(LATENCY_BUCKETS);
  readonly codes = new Map<string, number>();

  addSlot(w: TypeWindow, i: number): void {
    for (let k = 0; k < COUNTS; k++) this.counts[k]! += w.counts[i * COUNTS + k]!;
    for (let b = 0; b < LATENCY_BUCKETS; b++) this.latency[b]! += w.latency[i * LATENCY_BUCKETS + b]!;
    for (const [code, n] of w.codes[i]!) this.codes.set(code, (this.codes.get(code) ?? 0) + n);
  }

  addAcc(o: Acc): void {
    for (let k = 0; k < COUNTS; k++) this.counts[k]! += o.counts[k]!;
    for (let b = 0; b < LATENCY_BUCKETS; b++) this.latency[b]! += o.latency[b]!;
    for (const [code, n] of o.codes) this.codes.set(code, (this.codes.get(code) ?? 0) + n);
  }

  requests(): number {
    return this.counts[0]! + this.counts[1]! + this.counts[2]!;
  }

  rates(seconds: number): RequestRates {
    const requests = this.requests();
    const errors = this.counts[3]!;
    return {
      requests,
      asks: this.counts[0]!,
      sends: this.counts[1]!,
      tells: this.counts[2]!,
      errors,
      perSec: round3(requests / seconds),
      errorRatio: requests === 0 ? 0 : round3(errors / requests),
      p50Ms: quantileMs(this.latency, 0.5),
      p99Ms: quantileMs(this.latency, 0.99),
      codes: topCodes(this.codes),
      latency: toSparse(this.latency),
    };
  }
}

/** The {@link MAX_CODES} most frequent codes by name, the rest summed as `other`. */
export function topCodes(codes: ReadonlyMap<string, number>): Record<string, number> {
  const byCount = [...codes].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  const kept = byCount.slice(0, MAX_CODES);
  const rest = byCount.slice(MAX_CODES).reduce((n, [, c]) => n + c, 0);
  const out = new Map(kept);
  if (rest > 0) out.set(OTHER_TYPE, (out.get(OTHER_TYPE) ?? 0) + rest);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
