/** Measuring Shoal beside its raw baseline: alternated rounds, per-operation latencies. */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { CpuTally } from "./cpu.js";
import { throughput } from "./report.js";
import { median } from "./stats.js";

/** Alternated rounds of each side per figure; the median of each side is reported. */
export const ROUNDS = 3;

/** `n` operations with at most `window` in flight, each one's latency (ms) pushed to `lat`; resolves to ops/s. */
export type Run = (n: number, window: number, lat: number[]) => Promise<number>;

/** What {@link alternate} measured per side: the median rate, every latency, the event-loop p99 (ms) when watched. */
export interface Sides<K extends string> {
  rate: Record<K, number>;
  lat: Record<K, number[]>;
  loop?: Record<K, number>;
}

/**
 * ROUNDS rounds of every side, each round running the sides in turn, so none has the warm JIT or
 * the quiet moment alone. `cpu`: a tally per side, fed by every measured run; `watchLoop`: this
 * process's event-loop delay p99 per side.
 */
export async function alternate<K extends string>(
  n: number,
  window: number,
  sides: Record<K, Run>,
  opts: { cpu?: Partial<Record<K, CpuTally>>; watchLoop?: boolean } = {},
): Promise<Sides<K>> {
  const names = Object.keys(sides) as K[];
  const per = <T>(make: () => T) => Object.fromEntries(names.map((k) => [k, make()])) as Record<K, T>;
  const lat = per(() => [] as number[]);
  const rates = per(() => [] as number[]);
  const loop = per(() => monitorEventLoopDelay({ resolution: 1 }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of names) {
      const tally = opts.cpu?.[k];
      const run = () => sides[k](n, window, lat[k]);
      if (opts.watchLoop) loop[k].enable();
      rates[k].push(await (tally === undefined ? run() : tally.measure(n, run)));
      loop[k].disable();
    }
  }
  const out: Sides<K> = { rate: per(() => 0), lat };
  for (const k of names) out.rate[k] = median(rates[k]);
  if (opts.watchLoop) out.loop = Object.fromEntries(names.map((k) => [k, loop[k].percentile(99) / 1e6])) as Record<K, number>;
  return out;
}

/** `throughput`, recording each operation's latency (ms) into `lat`. */
export function timed(n: number, window: number, lat: number[], op: (i: number) => Promise<unknown>): Promise<number> {
  return throughput(n, window, async (i) => {
    const t = process.hrtime.bigint();
    await op(i);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
}

/** "12,345/s" */
export const perSecond = (rate: number): string => `${Math.round(rate).toLocaleString("en-US")}/s`;
