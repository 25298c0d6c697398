/** How the dashboard writes its numbers; anything that is not a finite number shows as a dash. */
import { isNum } from "./dom.js";

const grouped = new Intl.NumberFormat("en-US");

/** A count: "1,234". */
export function count(v: unknown): string {
  return isNum(v) ? grouped.format(v) : "—";
}

/** A rate per second: "0.4/s", "12/s", "1,204/s". */
export function perSec(v: unknown): string {
  if (!isNum(v)) return "—";
  return `${v < 10 ? v.toFixed(1) : grouped.format(Math.round(v))}/s`;
}

/** A duration in ms: "0.42 ms", "3.1 ms", "45 ms", "1.2 s". */
export function ms(v: unknown): string {
  if (!isNum(v)) return "—";
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s`;
  return `${v < 1 ? v.toFixed(2) : v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
}

/** A ratio as a percentage: "0 %", "0.4 %", "12 %". */
export function pct(v: unknown): string {
  if (!isNum(v)) return "—";
  const p = v * 100;
  return `${p === 0 ? "0" : p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

/** A size: "800 B", "12 KB", "3.0 MB". */
export function bytes(v: unknown): string {
  if (!isNum(v)) return "—";
  if (v < 1024) return `${Math.round(v)} B`;
  if (v < 1024 * 1024) return `${Math.round(v / 1024)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
}
