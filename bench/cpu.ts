import { readFileSync } from "node:fs";
import type { Figure } from "./report.js";

/** Linux reports per-process CPU in clock ticks of 1/100 s (USER_HZ, fixed for `/proc`). */
const TICKS_PER_US = 1e-4;

/**
 * CPU time (µs, user + system) a process has used so far: this process when `pid` is
 * undefined, another from `/proc/<pid>/stat`. Undefined where there is no `/proc` (not Linux)
 * or the process is gone.
 */
export function cpuMicros(pid?: number): number | undefined {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  try {
    // Fields after the command name (which may hold spaces, hence the last ")"): utime is the
    // 12th and stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_US;
  } catch {
    return undefined;
  }
}

/** Named processes (`undefined` pid: this one) whose CPU time is added up over measured runs. */
export class CpuTally {
  private readonly used = new Map<string, number>();
  private ops = 0;
  private missing = false;

  constructor(private readonly procs: Record<string, number | undefined>) {}

  /**
   * Runs `run` (which performs `ops` operations, or as many as `ops` says of its result) and adds
   * what each process used meanwhile.
   */
  async measure<T>(ops: number | ((out: T) => number), run: () => Promise<T>): Promise<T> {
    const before = this.read();
    const out = await run();
    const after = this.read();
    for (const [name, t] of after) {
      const t0 = before.get(name);
      if (t === undefined || t0 === undefined) this.missing = true;
      else this.used.set(name, (this.used.get(name) ?? 0) + t - t0);
    }
    this.ops += typeof ops === "number" ? ops : ops(out);
    return out;
  }

  /** µs of CPU per operation, per process and in all; undefined if a process could not be read. */
  perOp(): { total: number; parts: Record<string, number> } | undefined {
    if (this.missing || this.ops === 0) return undefined;
    const parts: Record<string, number> = {};
    for (const [name, t] of this.used) parts[name] = t / this.ops;
    return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
  }

  private read(): Map<string, number | undefined> {
    return new Map(Object.entries(this.procs).map(([name, pid]) => [name, cpuMicros(pid)]));
  }
}

/** "caller 8.1, target 5.3, server 1.0" */
const describeParts = (parts: Record<string, number>): string =>
  Object.entries(parts)
    .map(([name, us]) => `${name} ${us.toFixed(1)}`)
    .join(", ");

/**
 * The figure comparing two tallies (Shoal's and raw's) per `op` ("ask", "msg"): Shoal's µs of CPU
 * per operation, Shoal ÷ raw as the ratio, each process's share in the note. Undefined when a
 * process could not be read.
 */
export function cpuFigure(name: string, op: string, shoal: CpuTally, raw: CpuTally, extra: Record<string, unknown>): Figure | undefined {
  const [s, r] = [shoal.perOp(), raw.perOp()];
  if (s === undefined || r === undefined) return undefined;
  const note = `Shoal: ${describeParts(s.parts)}; raw: ${describeParts(r.parts)} (µs per ${op}; lower is better)`;
  return { name, value: s.total, unit: `µs CPU/${op}`, ratio: s.total / r.total, baseline: `raw ${r.total.toFixed(1)} µs/${op}`, note, ...extra };
}

/**
 * CPU time (µs) every process of the machine has used so far, from `/proc/stat` (user, nice,
 * system, irq, softirq and steal of all cores; idle and iowait left out). Undefined where there
 * is no `/proc`. Less what the bench's own processes used, it is the CPU that other work on a
 * shared machine took during a measurement.
 */
export function systemBusyMicros(): number | undefined {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_US;
  } catch {
    return undefined;
  }
}
