/**
 * The chaos runner: `node dist/integration/chaos/run.js [--runs 3] [--only name[,name]] [--fast]`.
 * Runs every scenario `--runs` times, one after another, prints one JSON line per run and a
 * table at the end; exits 1 if any run lost, duplicated or reordered something, failed one of
 * its own checks, or threw.
 */
import { parseArgs } from "node:util";
import { scenarios } from "./scenarios.js";
import type { ScenarioResult } from "./types.js";

interface Row {
  scenario: string;
  runs: number;
  errors: number;
  lost: number;
  duplicated: number;
  orderViolations: number;
  longestUnavailableMs: number;
  failedChecks: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "3" }, only: { type: "string" }, fast: { type: "boolean", default: false } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const only = values.only?.split(",").map((s) => s.trim());
  const chosen = only === undefined ? scenarios : scenarios.filter((s) => only.includes(s.name));
  if (chosen.length === 0) throw new Error(`no scenario named ${values.only}; there are: ${scenarios.map((s) => s.name).join(", ")}`);
  const ctx = { fast: values.fast ?? false, log: (line: string) => process.stderr.write(`  ${line}\n`) };
  const rows: Row[] = [];
  for (const s of chosen) {
    const row: Row = { scenario: s.name, runs: 0, errors: 0, lost: 0, duplicated: 0, orderViolations: 0, longestUnavailableMs: 0, failedChecks: 0 };
    rows.push(row);
    for (let i = 1; i <= runs; i++) {
      process.stderr.write(`${s.name} run ${i}/${runs}: ${s.describe}\n`);
      const t0 = Date.now();
      let result: ScenarioResult | undefined;
      let error: string | undefined;
      try {
        result = await s.run(ctx);
      } catch (err) {
        error = String((err as Error)?.stack ?? err);
      }
      row.runs++;
      const line = { scenario: s.name, run: i, ms: Date.now() - t0, ...(result ?? {}), ...(error === undefined ? {} : { error }) };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      if (result === undefined) {
        row.errors++;
        continue;
      }
      row.lost += result.lost;
      row.duplicated += result.duplicated;
      row.orderViolations += result.orderViolations;
      row.longestUnavailableMs = Math.max(row.longestUnavailableMs, result.longestUnavailableMs);
      row.failedChecks += result.failedChecks.length;
    }
  }
  printTable(rows);
  return rows.some((r) => r.errors + r.lost + r.duplicated + r.orderViolations + r.failedChecks > 0) ? 1 : 0;
}

function printTable(rows: Row[]): void {
  const head = ["scenario", "runs", "lost", "duplicated", "order violations", "longest unavailability", "failed checks", "errors"];
  const body = rows.map((r) =>
    [r.scenario, r.runs, r.lost, r.duplicated, r.orderViolations, `${(r.longestUnavailableMs / 1000).toFixed(1)} s`, r.failedChecks, r.errors].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const out = [fmt(head), `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...body.map(fmt)];
  process.stdout.write(`${out.join("\n")}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(2);
  },
);
