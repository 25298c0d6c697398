import type { TimerDelay, Timers } from "../actor/spec.js";
import type { Clock, TimerHandle } from "../clock.js";

/** Most timers one actor may have set. */
export const MAX_TIMERS = 256;
/** Longest timer name, in UTF-16 units. */
export const MAX_TIMER_NAME_LENGTH = 200;
/** Longest delay or period (ms): what `setTimeout` takes without firing at once. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A timer as it travels in a handoff: its name, ms until it is due (0: due now), its period, its message. */
export interface CapturedTimer {
  readonly name: string;
  readonly in: number;
  readonly every?: number;
  readonly msg: unknown;
}

/** Which firing a timer message is: the message of a timer replaced or cancelled since is dropped by it. */
export interface TimerTag {
  readonly name: string;
  readonly gen: number;
}

/** A timer as a turn asked for it: first firing after `after` ms, then every `every` ms if set. */
interface Planned {
  readonly after: number;
  readonly every: number | undefined;
  readonly msg: unknown;
}

interface Entry extends TimerTag, Planned {
  /** armed: the clock will fire it at `due`; held: fired while the actor was paused; queued: its message is in the mailbox or its turn. */
  state: "armed" | "held" | "queued";
  due: number;
  handle: TimerHandle | undefined;
}

/**
 * The timers of one activation. The clock fires a timer into `fire` (its message then goes
 * through the mailbox); {@link take} says whether a queued firing is still the current one;
 * {@link done} re-arms a periodic timer once its firing's turn is over (fixed delay, so firings
 * never pile up). Changes come from turns, whole, through {@link apply}.
 */
export class TimerTable {
  private readonly entries = new Map<string, Entry>();
  private gen = 0;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (tag: TimerTag, msg: unknown) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Applies a turn's changes, in the order the turn made them (null: cancel). */
  apply(changes: ReadonlyMap<string, Planned | null>): void {
    for (const [name, plan] of changes) {
      this.cancel(name);
      if (plan !== null) this.set(name, plan);
    }
  }

  /** Re-arms timers handed over from another node, each after what remained of its delay there. */
  restore(timers: readonly CapturedTimer[]): void {
    for (const t of timers) {
      this.cancel(t.name);
      this.set(t.name, { after: t.in, every: t.every, msg: t.msg });
    }
  }

  /** Every timer, with what remains of its delay (0 for one that fired and has not run yet). */
  capture(): CapturedTimer[] {
    const now = this.clock.now();
    const out: CapturedTimer[] = [];
    for (const e of this.entries.values()) {
      const left = e.state === "armed" ? Math.max(0, Math.ceil(e.due - now)) : 0;
      out.push(e.every === undefined ? { name: e.name, in: left, msg: e.msg } : { name: e.name, in: left, every: e.every, msg: e.msg });
    }
    return out;
  }

  /**
   * A firing's message is about to run: false when its timer was replaced or cancelled since
   * (the message is dropped). A one-shot timer is over from here on.
   */
  take(tag: TimerTag): boolean {
    const e = this.current(tag);
    if (e === undefined) return false;
    if (e.every === undefined) this.entries.delete(e.name);
    return true;
  }

  /** A firing's turn is over (whatever its outcome): a periodic timer is due again `every` ms from now. */
  done(tag: TimerTag): void {
    const e = this.current(tag);
    if (e === undefined || e.every === undefined) return;
    this.arm(e, e.every);
  }

  /** A firing could not be queued (the actor is paused): it waits for {@link releaseHeld}, or moves as due now. */
  hold(tag: TimerTag): void {
    const e = this.current(tag);
    if (e !== undefined) e.state = "held";
  }

  /** Fires every held timer again (the actor runs here again). */
  releaseHeld(): void {
    for (const e of [...this.entries.values()]) {
      if (e.state !== "held") continue;
      e.state = "queued";
      this.fire(e, e.msg);
    }
  }

  /** Cancels every timer (the activation is dropped). */
  clear(): void {
    for (const e of this.entries.values()) e.handle?.cancel();
    this.entries.clear();
  }

  private cancel(name: string): void {
    const e = this.entries.get(name);
    if (e === undefined) return;
    e.handle?.cancel();
    this.entries.delete(name);
  }

  private set(name: string, plan: Planned): void {
    const e: Entry = { name, gen: ++this.gen, ...plan, state: "armed", due: 0, handle: undefined };
    this.entries.set(name, e);
    this.arm(e, plan.after);
  }

  private arm(e: Entry, ms: number): void {
    e.state = "armed";
    e.due = this.clock.now() + ms;
    e.handle = this.clock.setTimeout(() => {
      if (this.entries.get(e.name) !== e || e.state !== "armed") return;
      e.state = "queued";
      e.handle = undefined;
      this.fire(e, e.msg);
    }, ms);
  }

  private current(tag: TimerTag): Entry | undefined {
    const e = this.entries.get(tag.name);
    return e !== undefined && e.gen === tag.gen ? e : undefined;
  }
}

/**
 * `ctx.timers` of one turn: records starts and cancels, which the activation applies to its
 * table only if the turn succeeds. Closed once the turn is over: a handler that kept it gets a
 * TypeError.
 */
export class TurnTimers implements Timers {
  /**
   * In the order made; a later change of a name replaces the earlier one (null: cancel). Made on
   * the first change: most turns touch no timer, and this object is made for every turn.
   */
  changes: Map<string, Planned | null> | undefined;
  private closed = false;

  constructor(private readonly table: TimerTable | undefined) {}

  start(name: string, delay: TimerDelay, msg: unknown): void {
    this.open();
    checkName(name);
    const planned = planOf(delay, msg);
    if (!this.isSet(name) && this.count() >= MAX_TIMERS) throw new TypeError(`an actor may have at most ${MAX_TIMERS} timers`);
    this.record(name, planned);
  }

  cancel(name: string): void {
    this.open();
    checkName(name);
    this.record(name, null);
  }

  isSet(name: string): boolean {
    const c = this.changes?.get(name);
    if (c !== undefined) return c !== null;
    return this.table?.has(name) ?? false;
  }

  /** The turn is over: no more changes. */
  close(): void {
    this.closed = true;
  }

  private record(name: string, change: Planned | null): void {
    this.changes ??= new Map();
    this.changes.delete(name); // re-inserted: the order of the last changes is the order applied
    this.changes.set(name, change);
  }

  private open(): void {
    if (this.closed) throw new TypeError("ctx.timers was used after its turn ended");
  }

  /** Timers set if the turn succeeded now. */
  private count(): number {
    let n = this.table?.size ?? 0;
    for (const [name, c] of this.changes ?? []) {
      const was = this.table?.has(name) ?? false;
      if (c !== null && !was) n++;
      else if (c === null && was) n--;
    }
    return n;
  }
}

function checkName(name: unknown): void {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_TIMER_NAME_LENGTH) {
    throw new TypeError(`a timer name must be a string of 1 to ${MAX_TIMER_NAME_LENGTH} characters`);
  }
}

function planOf(delay: TimerDelay, msg: unknown): Planned {
  if (msg === undefined) throw new TypeError("a timer needs a message");
  if (typeof delay === "number") return { after: checkDelay(delay, "delay", 0), every: undefined, msg };
  if (typeof delay !== "object" || delay === null) throw new TypeError("a timer's delay is a number of ms or { every }");
  const every = checkDelay(delay.every, "every", 1);
  return { after: delay.after === undefined ? every : checkDelay(delay.after, "after", 0), every, msg };
}

function checkDelay(ms: unknown, what: string, min: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < min || ms > MAX_TIMER_DELAY) {
    throw new TypeError(`a timer's ${what} must be a number of ms from ${min} to ${MAX_TIMER_DELAY}`);
  }
  return ms;
}
