import { parseArgs } from "node:util";

/** A usage error: the command prints it with the usage text and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses flags strictly; unknown flags and missing values are usage errors, not crashes. */
export function parse(
  argv: string[],
  options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>,
  allowPositionals = false,
  // Flag values are checked where they are used (pick, positiveInt).
  // biome-ignore lint/suspicious/noExplicitAny: parseArgs types each value by its option; the commands read them as they declared them
): { values: Record<string, any>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as never;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A flag, else an environment variable, else a default; undefined when none. */
export function pick(flag: string | undefined, env: string[], fallback?: string): string | undefined {
  if (flag !== undefined) return flag;
  for (const name of env) {
    const v = process.env[name];
    if (v !== undefined && v !== "") return v;
  }
  return fallback;
}

export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
