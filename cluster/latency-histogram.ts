/**
 * Latency buckets on a log scale, for quantiles that are cheap to keep and to merge: bucket `i`
 * holds durations in `[2^(i/8), 2^((i+1)/8))` microseconds (eight buckets per doubling, each
 * about 9 % wide), from 1 µs (bucket 0 also takes anything shorter) to about 67 s (the last one
 * also takes anything longer). A quantile read from them is the bucket's geometric middle:
 * within ±4.5 % of the true value. Nodes send their histograms as sparse `[bucket, count]`
 * pairs, so the cluster's quantiles are exact merges of theirs, not averages of quantiles.
 */

/** Buckets per doubling of the duration. */
const PER_OCTAVE = 8;
/** Number of buckets: 1 µs · 2^26 ≈ 67 s is the last one's lower bound. */
export const LATENCY_BUCKETS = 26 * PER_OCTAVE + 1;

/** A histogram as it travels: `[bucket, count]` for the buckets that counted something, ascending. */
export type SparseHistogram = Array<[bucket: number, count: number]>;

/** The bucket of a duration in seconds (non-finite or negative: bucket 0). */
export function latencyBucket(seconds: number): number {
  const us = seconds * 1e6;
  if (!(us >= 1)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(us) * PER_OCTAVE));
}

/** The duration (ms) bucket `i` stands for: its geometric middle. */
export function bucketMs(i: number): number {
  return 2 ** ((i + 0.5) / PER_OCTAVE) / 1000;
}

/** The `q` quantile (0 < q ≤ 1) of `counts` (a dense histogram), in ms; null when it counted nothing. */
export function quantileMs(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return round3(bucketMs(i));
  }
  return round3(bucketMs(counts.length - 1));
}

/** `counts` (dense) as its non-empty buckets. */
export function toSparse(counts: ArrayLike<number>): SparseHistogram {
  const out: SparseHistogram = [];
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) out.push([i, counts[i]!]);
  return out;
}

/**
 * Adds a sparse histogram `from` (as another node sent it: unchecked) into the dense `into`;
 * entries that are not `[bucket, count]` with a bucket in range and a finite count ≥ 0 are
 * skipped. Returns the count added.
 */
export function addSparse(into: Float64Array, from: unknown): number {
  if (!Array.isArray(from)) return 0;
  let added = 0;
  for (const e of from) {
    if (!Array.isArray(e) || e.length !== 2) continue;
    const [i, n] = e as unknown[];
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= into.length) continue;
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) continue;
    into[i as number]! += n;
    added += n;
  }
  return added;
}

/** Three decimals: what a millisecond figure needs, and no more in the JSON. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
