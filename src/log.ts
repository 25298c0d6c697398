import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/** How log records are written: JSON lines (for machines), or pino-pretty's lines (for people). */
export type LogFormat = "json" | "pretty";

/** The accepted values of `SHOAL_LOG_FORMAT` (and `shoal node --log-format`). */
export const LOG_FORMATS: readonly LogFormat[] = ["json", "pretty"];

/**
 * The project's logger: pino on stderr (stdout belongs to command output). Level from
 * `SHOAL_LOG_LEVEL` (or `LOG_LEVEL`), default `info`; tests default to `silent`. Format from
 * `format`, else `SHOAL_LOG_FORMAT`, else pretty when stderr is a terminal and JSON otherwise.
 */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string, format?: LogFormat): Logger {
  const fromEnv = process.env.SHOAL_LOG_LEVEL ?? process.env.LOG_LEVEL;
  const resolved = level ?? fromEnv ?? (process.env.VITEST ? "silent" : "info");
  const tty = process.stderr.isTTY === true;
  const chosen = format ?? logFormat(process.env.SHOAL_LOG_FORMAT, tty);
  const options = { level: resolved, base: { ...bindings } };
  if (chosen === "json") return pino(options, pino.destination(2));
  const stream = pretty({
    destination: 2,
    sync: true, // nothing lost when the process exits right after logging
    colorize: tty && !process.env.NO_COLOR,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    messageFormat: "{if node}{node} {end}{msg}",
    ignore: "node,cluster,pid,hostname",
  });
  return pino(options, stream);
}

/**
 * The format for a `SHOAL_LOG_FORMAT` value: `json` or `pretty` as asked, else (unset or empty)
 * pretty on a terminal and JSON otherwise. Throws on any other value.
 */
export function logFormat(asked: string | undefined, stderrIsTerminal: boolean): LogFormat {
  if (asked === undefined || asked === "") return stderrIsTerminal ? "pretty" : "json";
  if ((LOG_FORMATS as readonly string[]).includes(asked)) return asked as LogFormat;
  throw new Error(`log format must be ${LOG_FORMATS.join(" or ")}, got ${JSON.stringify(asked)}`);
}

/** A logger that drops everything, for embedding and tests. */
export const silentLogger: Logger = pino({ level: "silent" });
