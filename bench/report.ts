/** One benchmark figure: printed as one JSON line, gathered into the table at the end. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  [k: string]: unknown;
}

const figures: Figure[] = [];

export function emit(f: Figure): void {
  figures.push(f);
  console.log(JSON.stringify(f));
}

export function printTable(): void {
  const rows = figures.map((f) => [f.name, fmt(f.value), f.unit, typeof f.ratio === "number" ? `${f.ratio.toFixed(2)}×` : "", String(f.baseline ?? "")]);
  const head = ["benchmark", "value", "unit", "vs raw", "baseline"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  console.log(`\n${line(head)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const r of rows) console.log(line(r));
}

/** The figures as a Markdown table (what BENCHMARKS.md shows), with each goal and whether it was met. */
export function markdownTable(): string {
  const rows = figures.map((f) => {
    const goal = typeof f.goal === "number" ? goalText(f) : "";
    const ratio = typeof f.ratio === "number" ? `${f.ratio.toFixed(2)}×` : "";
    return `| \`${f.name}\` | ${fmt(f.value)} | ${f.unit} | ${ratio} | ${String(f.baseline ?? "")} | ${goal} |`;
  });
  return ["| benchmark | value | unit | vs raw | baseline | goal |", "| --- | ---: | --- | ---: | --- | --- |", ...rows].join("\n");
}

/** "≥ 2× ✓" / "≤ 25 ms ✗": ratios and rates must reach the goal, latencies stay under it. */
function goalText(f: Figure): string {
  const goal = f.goal as number;
  const atMost = f.unit === "ms" || f.unit === "µs";
  const isRatio = typeof f.ratio === "number" && !atMost;
  const measured = isRatio ? (f.ratio as number) : f.value;
  const met = atMost ? measured <= goal : measured >= goal;
  return `${atMost ? "≤" : "≥"} ${isRatio ? `${goal}×` : `${goal.toLocaleString("en-US")} ${f.unit}`} ${met ? "✓" : "✗"}`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(3);
}

/** Runs `op` over `total` operations with at most `window` in flight; returns ops per second. */
export async function throughput(total: number, window: number, op: (i: number, worker: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (w: number) => {
    while (next < total) await op(next++, w);
  };
  await Promise.all(Array.from({ length: Math.min(window, total) }, (_, w) => worker(w)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return total / seconds;
}
