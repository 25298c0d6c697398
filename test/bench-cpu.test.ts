import { describe, expect, it } from "vitest";
import { CpuTally, cpuFigure, cpuMicros } from "../bench/cpu.js";

/** Spins for about `ms` of CPU. */
function burn(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < ms) x += Math.sqrt(x + 1);
  expect(x).toBeGreaterThan(0);
}

describe("bench CPU accounting", () => {
  it("reads a process's CPU time from /proc as the process itself counts it", () => {
    const proc0 = cpuMicros(process.pid)!;
    const self0 = cpuMicros()!;
    burn(200);
    const viaProc = cpuMicros(process.pid)! - proc0;
    const viaSelf = cpuMicros()! - self0;
    // /proc counts in 10 ms ticks, and other threads of this process may add a little.
    expect(viaSelf).toBeGreaterThanOrEqual(200_000);
    expect(Math.abs(viaProc - viaSelf)).toBeLessThan(40_000 + viaSelf * 0.2);
  });

  it("adds up per operation, and gives nothing when a process cannot be read", async () => {
    const tally = new CpuTally({ self: undefined, viaProc: process.pid });
    await tally.measure(100, async () => burn(100));
    const used = tally.perOp()!;
    expect(used.parts.self).toBeGreaterThanOrEqual(1000); // ≥ 100 ms over 100 operations
    expect(used.total).toBeCloseTo(used.parts.self! + used.parts.viaProc!, 6);
    const gone = new CpuTally({ nobody: 2 ** 22 + 1 }); // above Linux's largest pid
    await gone.measure(1, async () => undefined);
    expect(gone.perOp()).toBeUndefined();
    expect(cpuFigure("x", "ask", tally, gone, {})).toBeUndefined();
    const figure = cpuFigure("x_cpu", "ask", tally, tally, { window: 128 })!;
    expect(figure).toMatchObject({ name: "x_cpu", value: used.total, unit: "µs CPU/ask", ratio: 1, window: 128 });
    expect(figure.note).toMatch(/^Shoal: self \d+\.\d, viaProc \d+\.\d; raw: /);
  });
});
