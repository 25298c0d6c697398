import { Cron } from "croner";

/**
 * When a reminder fires: once `at` a time; every `every` ms (first at `at`, default one period
 * from now); or on a cron expression (5 or 6 fields, seconds first when 6; `tz` an IANA zone,
 * default UTC). Times are ms since the epoch or `Date`s.
 */
export type ReminderWhen =
  | {
      /** When it fires, once. */
      readonly at: number | Date;
    }
  | {
      /** Its period (ms, at least 100). */
      readonly every: number;
      /** Its first firing (default: one period from now). */
      readonly at?: number | Date;
    }
  | {
      /** A cron expression: 5 fields, or 6 with seconds first. */
      readonly cron: string;
      /** The IANA time zone it is read in (default UTC). */
      readonly tz?: string;
    };

/** A reminder's schedule as stored: nothing for a one-shot, `every` or `cron` (+ `tz`) for a repeating one. */
export interface Schedule {
  /** Period (ms) of a periodic reminder. */
  readonly every?: number;
  /** Cron expression of a cron reminder. */
  readonly cron?: string;
  /** Time zone of a cron reminder. */
  readonly tz?: string;
}

/** Shortest period of a repeating reminder (ms). Reminders are for durable, coarse schedules; timers for fine ones. */
export const MIN_REMINDER_PERIOD = 100;
/** Longest reminder name, in UTF-16 units (a firing carries it as its origin, so it is bounded like an actor id). */
export const MAX_REMINDER_NAME_LENGTH = 100;
/** Most reminders one actor may have. */
export const MAX_REMINDERS = 256;

/** Checks `when` and gives its schedule and first due time (a TypeError for what cannot be one). */
export function firstDue(when: ReminderWhen, now: number): { schedule: Schedule; due: number } {
  if (typeof when !== "object" || when === null) throw new TypeError("a reminder needs {at}, {every} or {cron}");
  const w = when as { at?: unknown; every?: unknown; cron?: unknown; tz?: unknown };
  const kinds = ["at", "every", "cron"].filter((k) => w[k as "at"] !== undefined && !(k === "at" && w.every !== undefined));
  if (kinds.length !== 1) throw new TypeError("a reminder needs exactly one of {at}, {every} (with an optional at) or {cron}");
  if (w.cron !== undefined) {
    const tz = w.tz === undefined ? "UTC" : w.tz;
    if (typeof tz !== "string") throw new TypeError("a reminder's tz must be an IANA zone name");
    const schedule: Schedule = { cron: checkCron(w.cron, tz), tz };
    return { schedule, due: nextDue(schedule, now) };
  }
  const at = w.at === undefined ? undefined : time(w.at);
  if (w.every === undefined) return { schedule: {}, due: at! };
  const every = w.every;
  if (typeof every !== "number" || !Number.isSafeInteger(every) || every < MIN_REMINDER_PERIOD) {
    throw new TypeError(`a reminder's every must be a whole number of ms, at least ${MIN_REMINDER_PERIOD}`);
  }
  return { schedule: { every }, due: at ?? now + every };
}

/**
 * The next due time of a repeating schedule after one due at `due` fired at `now`: the next
 * period boundary after now (missed periods are skipped, not fired in a burst), or the cron's
 * next time after now. Undefined for a one-shot.
 */
export function nextDue(s: Schedule, now: number, due?: number): number {
  if (s.cron !== undefined) {
    const next = new Cron(s.cron, { timezone: s.tz ?? "UTC", paused: true }).nextRun(new Date(now));
    if (next === null) return Number.POSITIVE_INFINITY;
    return next.getTime();
  }
  if (s.every !== undefined) {
    const from = due ?? now;
    const periods = Math.max(1, Math.floor((now - from) / s.every) + 1);
    return from + periods * s.every;
  }
  return Number.POSITIVE_INFINITY;
}

function checkCron(expr: unknown, tz: string): string {
  if (typeof expr !== "string" || expr.length === 0 || expr.length > 200) throw new TypeError("a reminder's cron must be an expression of 1 to 200 characters");
  try {
    new Cron(expr, { timezone: tz, paused: true }).nextRun();
  } catch (err) {
    throw new TypeError(`invalid cron expression ${JSON.stringify(expr)}: ${(err as Error).message}`);
  }
  return expr;
}

function time(v: unknown): number {
  const t = v instanceof Date ? v.getTime() : v;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) throw new TypeError("a reminder's at must be a Date or ms since the epoch");
  return t;
}
