/** What a workload's history says about availability: the longest outage, failures by code and phase. */
import type { Attempt } from "./traffic.js";

/** Adds `value` to the set under `key`. */
export function addTo(m: Map<string, Set<string>>, key: string, value: string): void {
  const s = m.get(key);
  if (s === undefined) m.set(key, new Set([value]));
  else s.add(value);
}

/** Outage: the longest time in which no attempt of any request succeeded. */
export interface Outage {
  ms: number;
  from: number;
  to: number;
  /** Phases (as recorded when each attempt ended) of the attempts in flight during the window. */
  phases: string[];
}

/** The longest window between two successful replies (or the run's edges) over all attempts. */
export function longestOutage(requests: ReadonlyArray<{ attempts: readonly Attempt[] }>): Outage {
  const all = requests.flatMap((r) => r.attempts);
  if (all.length === 0) return { ms: 0, from: 0, to: 0, phases: [] };
  const start = all.reduce((m, a) => Math.min(m, a.at), Infinity);
  const end = all.reduce((m, a) => Math.max(m, a.at + a.ms), -Infinity);
  const oks = all
    .filter((a) => a.outcome === "ok")
    .map((a) => a.at + a.ms)
    .sort((x, y) => x - y);
  let best = { from: start, to: oks[0] ?? end };
  for (const [i, t] of [...oks, end].entries()) {
    const prev = i === 0 ? start : oks[i - 1]!;
    if (t - prev > best.to - best.from) best = { from: prev, to: t };
  }
  // Attempts in flight during the window (those that failed in it, timed out across it, or ended it).
  const phases = [...new Set(all.filter((a) => a.at < best.to && a.at + a.ms > best.from).map((a) => a.phase))];
  return { ms: best.to - best.from, ...best, phases };
}

/** Failed attempts by code, and by phase then code. */
export function failures(requests: ReadonlyArray<{ attempts: readonly Attempt[] }>) {
  const byCode: Record<string, number> = {};
  const byPhase: Record<string, Record<string, number>> = {};
  for (const a of requests.flatMap((r) => r.attempts)) {
    if (a.outcome === "ok") continue;
    byCode[a.outcome] = (byCode[a.outcome] ?? 0) + 1;
    byPhase[a.phase] ??= {};
    const p = byPhase[a.phase]!;
    p[a.outcome] = (p[a.outcome] ?? 0) + 1;
  }
  const inPhase = (...phases: string[]) => phases.reduce((n, p) => n + Object.values(byPhase[p] ?? {}).reduce((x, y) => x + y, 0), 0);
  return { byCode, byPhase, inPhase };
}
