/**
 * Shard → node placement: pure, deterministic, no I/O.
 *
 * **Algorithm: weighted rendezvous hashing (HRW) with load bounds.** Every (shard, member) pair
 * gets a score `w / -ln(u)`, `u` a uniform hash of the pair (weighted HRW: a member wins a shard
 * with probability w/W). Each eligible member also gets a share of the shard count,
 * `S·w/W`, and may own between `floor` and `ceil` of it ({@link Share}); the score only decides
 * *which* shards go where inside those bounds, so balance is exact rather than statistical: with
 * equal weights every member owns floor(S/N) or ceil(S/N) shards.
 *
 * Reassignment is sticky and moves the fewest shards the bounds allow:
 * 1. a shard stays with its owner if the owner is still eligible;
 * 2. an owner above its `max` sheds its lowest-scoring shards; shards of gone or draining
 *    owners are orphans;
 * 3. if members below their `min` still need more than that pool holds, they pull their
 *    highest-scoring shards from members above their `min`;
 * 4. the pool goes, in shard order, to each shard's highest-scoring member with room (below
 *    `max`, or below `min` once the remaining pool is only enough to fill the deficits).
 * A fresh placement is the same with every shard orphaned. Cost: O(S·N) score evaluations
 * (hash, plus a log when weights differ) and O(S log S) sorting: ~1–2 ms for 1024 shards × 32
 * nodes, ~10 ms cold for 4096 × 64.
 *
 * Why HRW rather than a ring: no virtual nodes to tune, weights are native, and the bounds
 * (not the hash) guarantee balance, so there is nothing statistical left to go wrong.
 *
 * **Eligibility.** `active` and `joining` members own shards; `draining` ones own none. A node
 * announces itself `joining` once it can accept handoffs, so the plan made on its arrival gives
 * it its share; `draining` means "hand everything off", so it is never a destination.
 */
import { fmix32, murmur3 } from "../src/routing/shard-hash.js";
import type { ShardMap } from "../src/routing/shard-map.js";

/** Which node owns which shard: defined beside its codec, in `src/routing/`. */
export type { ShardMap };

const utf8 = new TextEncoder();

/** Lifecycle of a cluster member as the planner sees it. */
export type MemberState = "joining" | "active" | "draining";

/** A node as the planner sees it. */
export interface Member {
  /** Node id, unique in the cluster. */
  readonly id: string;
  /** Capacity weight, finite and > 0; 1 for equal nodes. A member's share of shards is `w / Σw`. */
  readonly weight: number;
  /** `joining` and `active` members own shards; `draining` members own none. */
  readonly state: MemberState;
  /** The node's roles (`shoal node --roles`): it hosts the shard groups of types bound to one of them. */
  readonly roles?: readonly string[];
}

/** One shard changing owner; `from`/`to` are `null` for "unowned". */
export interface Move {
  readonly shard: number;
  readonly from: string | null;
  readonly to: string | null;
}

/** An eligible member's bounds: it owns between `min` and `max` shards (`floor`/`ceil` of `S·w/W`). */
export interface Share {
  readonly id: string;
  readonly weight: number;
  readonly min: number;
  readonly max: number;
}

/** Whether the member may own shards. */
export function isEligible(m: Member): boolean {
  return m.state === "active" || m.state === "joining";
}

/**
 * The eligible members sorted by id (UTF-16 code-unit order, locale-free), with their bounds.
 * Throws `RangeError` on a bad shard count, a duplicate id, or an eligible member's bad weight.
 */
export function shares(shardCount: number, members: readonly Member[]): Share[] {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) throw new RangeError(`bad shard count ${shardCount}`);
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.id)) throw new RangeError(`duplicate member id ${JSON.stringify(m.id)}`);
    seen.add(m.id);
  }
  const el = members.filter(isEligible).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const m of el) {
    if (!(Number.isFinite(m.weight) && m.weight > 0)) throw new RangeError(`member ${m.id}: bad weight ${m.weight}`);
  }
  const total = el.reduce((t, m) => t + m.weight, 0);
  const out = el.map((m) => {
    const x = shardCount * (m.weight / total);
    return { id: m.id, weight: m.weight, min: Math.floor(x), max: Math.ceil(x) };
  });
  // Floating point can push Σmin above S or Σmax below it by one; nudge back so bounds stay feasible.
  let lo = out.reduce((t, s) => t + s.min, 0);
  let hi = out.reduce((t, s) => t + s.max, 0);
  for (let i = 0; lo > shardCount || (hi < shardCount && out.length > 0); i = (i + 1) % out.length) {
    const s = out[i]!;
    if (lo > shardCount && s.min > 0) {
      s.min--;
      lo--;
    }
    if (hi < shardCount) {
      s.max++;
      hi++;
    }
  }
  return out;
}

/** A fresh assignment of `shardCount` shards to the eligible members; all `null` if none is eligible. */
export function place(shardCount: number, members: readonly Member[]): (string | null)[] {
  return reassign(new Array<string | null>(shardCount).fill(null), members);
}

/**
 * The new owners given the previous ones: sticky, within every member's {@link Share}, moving the
 * fewest shards those bounds allow (see the module doc). Same inputs → same output, whatever the
 * order of `members`.
 */
export function reassign(previous: readonly (string | null)[], members: readonly Member[]): (string | null)[] {
  const S = previous.length;
  const sh = shares(S, members);
  const out = new Array<string | null>(S).fill(null);
  if (sh.length === 0) return out;
  const N = sh.length;
  const seeds = Uint32Array.from(sh, (s) => murmur3(utf8.encode(s.id)));
  const index = new Map(sh.map((s, i) => [s.id, i]));
  // Equal weights: the raw pair hash orders members exactly as w / -ln(u) would, without the log.
  const uniform = sh.every((s) => s.weight === sh[0]!.weight);
  const pairHash = (shard: number, i: number) => fmix32(fmix32(shard ^ 0x9e3779b9) ^ seeds[i]!);
  const weighted = (h: number, i: number) => (uniform ? h : sh[i]!.weight / -Math.log((h + 0.5) / 2 ** 32));
  const score = (shard: number, i: number) => weighted(pairHash(shard, i), i);

  const own: number[][] = sh.map(() => []);
  const pool: number[] = [];
  previous.forEach((o, s) => {
    const i = o === null ? undefined : index.get(o);
    if (i === undefined) pool.push(s);
    else own[i]!.push(s);
  });

  // Over the cap: shed the shards this owner scores lowest.
  own.forEach((list, i) => {
    const extra = list.length - sh[i]!.max;
    if (extra <= 0) return;
    const key = new Map(list.map((s) => [s, pairHash(s, i)]));
    list.sort((a, b) => key.get(a)! - key.get(b)! || a - b);
    pool.push(...list.splice(0, extra));
  });

  // Deficits the pool cannot cover: the needy pull their favourite shards from members above min.
  const needy = sh.map((s, i) => Math.max(0, s.min - own[i]!.length));
  let deficit = needy.reduce((t, d) => t + d, 0);
  if (deficit > pool.length) {
    const need = deficit - pool.length;
    const wanting = needy.flatMap((d, i) => (d > 0 ? [i] : []));
    const key = new Float64Array(S);
    const byKey = (a: number, b: number) => key[b]! - key[a]! || a - b;
    const cand: number[] = [];
    own.forEach((list, i) => {
      const k = Math.min(list.length - sh[i]!.min, need);
      if (k <= 0) return;
      for (const s of list) {
        let v = -Infinity;
        for (const j of wanting) v = Math.max(v, score(s, j));
        key[s] = v;
      }
      // A donor gives at most k, so only its k favourites can be picked from it.
      cand.push(...topK(list, k, byKey));
    });
    const taken = new Uint8Array(S);
    for (const s of cand.sort(byKey).slice(0, need)) {
      taken[s] = 1;
      pool.push(s);
    }
    for (const [i, list] of own.entries()) own[i] = list.filter((s) => !taken[s]);
  }

  const count = Int32Array.from(own, (list, i) => {
    for (const s of list) out[s] = sh[i]!.id;
    return list.length;
  });
  const min = Int32Array.from(sh, (s) => s.min);
  const max = Int32Array.from(sh, (s) => s.max);
  pool.sort((a, b) => a - b);
  let remaining = pool.length;
  for (const s of pool) {
    const cap = remaining === deficit ? min : max;
    const base = fmix32(s ^ 0x9e3779b9);
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < N; i++) {
      if (count[i]! >= cap[i]!) continue;
      const v = weighted(fmix32(base ^ seeds[i]!), i);
      if (v > bestScore) {
        best = i;
        bestScore = v;
      }
    }
    out[s] = sh[best]!.id;
    if (count[best]! < min[best]!) deficit--;
    count[best]!++;
    remaining--;
  }
  return out;
}

/**
 * The owner of one shard outside the bounded groups (a tenant's own shard): `current` when it is
 * among `members` and eligible, else the eligible member that scores the shard highest (the same
 * pair hash as {@link reassign}, weights ignored); null when none is eligible.
 */
export function pickOwner(shard: number, members: readonly Member[], current: string | null): string | null {
  const el = members.filter(isEligible);
  if (current !== null && el.some((m) => m.id === current)) return current;
  let best: string | null = null;
  let bestScore = -1;
  const base = fmix32(shard ^ 0x9e3779b9);
  for (const m of el) {
    const v = fmix32(base ^ murmur3(utf8.encode(m.id)));
    if (v > bestScore || (v === bestScore && best !== null && m.id < best)) {
      best = m.id;
      bestScore = v;
    }
  }
  return best;
}

/** The `k` first of `xs` in `cmp` order; a partial insertion sort when `k` is small. */
function topK(xs: readonly number[], k: number, cmp: (a: number, b: number) => number): number[] {
  if (k * 8 >= xs.length) return [...xs].sort(cmp).slice(0, k);
  const best: number[] = [];
  for (const x of xs) {
    if (best.length === k && cmp(x, best[k - 1]!) >= 0) continue;
    let i = best.length;
    while (i > 0 && cmp(x, best[i - 1]!) < 0) i--;
    best.splice(i, 0, x);
    if (best.length > k) best.pop();
  }
  return best;
}
