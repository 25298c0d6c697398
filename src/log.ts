import { pino, type Logger } from "pino";

export type { Logger };

/**
 * The project's logger: pino, JSON lines on stderr (stdout belongs to command output).
 * Level from `SHOAL_LOG_LEVEL` (or `LOG_LEVEL`), default `info`; tests default to `silent`.
 */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string): Logger {
  const fromEnv = process.env.SHOAL_LOG_LEVEL ?? process.env.LOG_LEVEL;
  const resolved = level ?? fromEnv ?? (process.env.VITEST ? "silent" : "info");
  return pino({ level: resolved, base: { ...bindings } }, pino.destination(2));
}

/** A logger that drops everything, for embedding and tests. */
export const silentLogger: Logger = pino({ level: "silent" });
