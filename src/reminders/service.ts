import type { Clock, TimerHandle } from "../clock.js";
import { ErrorCode, ShoalError } from "../errors.js";
import { inParallel } from "../in-parallel.js";
import type { Logger } from "../log.js";
import { actorKeyString, type Origin } from "../runtime/outgoing.js";
import type { ActorKey } from "../store/types.js";
import { DueQueue } from "./due-queue.js";
import { nextDue, type Schedule } from "./schedule.js";
import { entryKey, type ReminderStorage, type StoredReminder } from "./storage.js";

/** The sender type of every reminder firing's origin (its id is the reminder's name): no actor type may take it. */
export const REMINDER_SENDER = "ShoalReminder";

/**
 * The name of the runtime's own reminder on an actor with outgoing messages not yet acknowledged
 * (users' reminder names cannot start with NUL): its firing loads the actor, which sends them
 * again, and ends once none is left. It is what makes a crashed sender's messages go out without
 * waiting for a message to the sender.
 */
export const WAKE_NAME = "\u0000outbox";
/** How often a sender with unacknowledged messages is woken (ms). */
export const WAKE_EVERY = 10_000;

/** A turn's change to one reminder: set (schedule, first due, message) or cancel. */
export type ReminderChange =
  | { readonly name: string; readonly set: { readonly schedule: Schedule; readonly due: number; readonly msg: unknown } }
  | { readonly name: string; readonly cancel: true };

/** A reminder as `ctx.reminders.list()` shows it. */
export interface ReminderInfo<M = unknown> extends Schedule {
  /** Its name, unique per actor. */
  readonly name: string;
  /** When it is next due (ms since the epoch). */
  readonly due: number;
  /** The message it sends the actor. */
  readonly msg: M;
}

/** What the service needs from its runtime. */
export interface ReminderHost {
  readonly clock: Clock;
  readonly log: Logger;
  shardOf(type: string, id: string): number;
  /** Delivers a firing to its actor on this node: resolves once applied (or already applied: the origin is known). */
  deliver(r: StoredReminder, origin: Origin): Promise<void>;
  /** Loads an actor whose outbox may hold messages: true while it still does (wake it again later). */
  wake(type: string, id: string): Promise<boolean>;
}

interface Entry {
  r: StoredReminder;
  ver: number;
  firing: boolean;
  attempts: number;
}

/** Firings in flight at once; the rest wait, due, in the queue. */
const MAX_IN_FLIGHT = 256;
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The reminders of the shards this node owns: loaded from storage when it gains a shard, fired
 * when due, advanced (or deleted) in storage once the firing's turn is applied, dropped from
 * memory when the shard goes. A firing carries the origin `(ShoalReminder, name, set, n)`, so an
 * event-sourced actor applies each firing once even when a new owner fires it again after a
 * crash. A failed firing (anything but REJECTED) is retried, 50 ms doubling to 5 s.
 */
export class ReminderService {
  private readonly entries = new Map<string, Entry>();
  private readonly byShard = new Map<number, Set<string>>();
  private readonly byActor = new Map<string, Map<string, string>>();
  /** Shards being loaded, with the keys turns changed meanwhile (the load must not undo them). */
  private readonly loading = new Map<number, Set<string>>();
  private readonly queue = new DueQueue();
  private timer: TimerHandle | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private ver = 0;
  private stopped = false;

  constructor(
    private readonly storage: ReminderStorage,
    private readonly host: ReminderHost,
  ) {}

  /** Reminders in memory (those of the shards owned and loaded). */
  get size(): number {
    return this.entries.size;
  }

  /** Shards whose reminders this node holds (or is loading). */
  get shards(): number[] {
    return [...this.byShard.keys()];
  }

  /**
   * This node owns exactly `shards` now: the reminders of shards it no longer owns leave memory
   * (they stay in storage, for the new owner), those of new shards are loaded. Resolves once loaded.
   */
  async own(shards: Iterable<number>): Promise<void> {
    const want = new Set(shards);
    for (const s of [...this.byShard.keys()]) if (!want.has(s)) this.dropShard(s);
    const fresh = [...want].filter((s) => !this.byShard.has(s));
    for (const s of fresh) {
      this.byShard.set(s, new Set());
      this.loading.set(s, new Set());
    }
    await inParallel(fresh, 8, (s) => this.loadShard(s));
  }

  /** Applies a turn's changes in order: stored first, then scheduled. Rejects (storage unavailable) with nothing more applied. */
  async apply(key: ActorKey, changes: readonly ReminderChange[]): Promise<void> {
    const shard = this.host.shardOf(key.type, key.id);
    for (const c of changes) {
      const k = entryKey({ type: key.type, id: key.id, name: c.name });
      this.loading.get(shard)?.add(k);
      const had = this.entries.get(k);
      if ("cancel" in c) {
        await this.storage.delete({ shard, type: key.type, id: key.id, name: c.name });
        this.remove(k);
        continue;
      }
      const now = this.host.clock.now();
      const set = Math.max(now, (had?.r.set ?? 0) + 1);
      const r: StoredReminder = { shard, type: key.type, id: key.id, name: c.name, msg: c.set.msg, due: c.set.due, set, n: 0, ...c.set.schedule };
      await this.storage.put(r);
      if (this.byShard.has(shard)) this.upsert(k, r);
    }
  }

  /** Registers an actor with outgoing messages, durably, so that its shard's owner wakes it until they are acknowledged. */
  enlist(key: ActorKey): Promise<void> {
    const due = this.host.clock.now() + WAKE_EVERY;
    return this.apply(key, [{ name: WAKE_NAME, set: { schedule: { every: WAKE_EVERY }, due, msg: null } }]);
  }

  /** The actor's reminders as this node holds them (its shard's owner holds them all). */
  list(key: ActorKey): ReminderInfo[] {
    const names = this.byActor.get(actorKeyString(key.type, key.id));
    if (names === undefined) return [];
    const out: ReminderInfo[] = [];
    for (const k of names.values()) {
      const r = this.entries.get(k)!.r;
      if (r.name === WAKE_NAME) continue;
      const info: ReminderInfo = { name: r.name, due: r.due, msg: r.msg };
      out.push(r.every !== undefined ? { ...info, every: r.every } : r.cron !== undefined ? { ...info, cron: r.cron, tz: r.tz } : info);
    }
    return out.sort((a, b) => a.due - b.due || (a.name < b.name ? -1 : 1));
  }

  /** Fires nothing more; what is in flight is let go. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async loadShard(shard: number): Promise<void> {
    let loaded: StoredReminder[] = [];
    for (let attempt = 0; !this.stopped && this.byShard.has(shard); attempt++) {
      try {
        loaded = await this.storage.loadShard(shard);
        break;
      } catch (err) {
        this.host.log.warn({ err, shard, attempt }, "reminders of a shard could not be loaded; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
    const touched = this.loading.get(shard);
    this.loading.delete(shard);
    if (!this.byShard.has(shard)) return; // lost again meanwhile
    for (const r of loaded) {
      const k = entryKey(r);
      if (touched?.has(k) === true) continue; // a turn set or cancelled it since: its write is newer
      this.upsert(k, r);
    }
  }

  private dropShard(shard: number): void {
    for (const k of this.byShard.get(shard) ?? []) this.remove(k, false);
    this.byShard.delete(shard);
    this.loading.delete(shard);
  }

  private upsert(k: string, r: StoredReminder): void {
    const e: Entry = { r, ver: ++this.ver, firing: false, attempts: 0 };
    this.entries.set(k, e);
    this.byShard.get(r.shard)?.add(k);
    const a = actorKeyString(r.type, r.id);
    let names = this.byActor.get(a);
    if (names === undefined) {
      names = new Map();
      this.byActor.set(a, names);
    }
    names.set(r.name, k);
    this.schedule(k, e);
  }

  private remove(k: string, fromShard = true): void {
    const e = this.entries.get(k);
    if (e === undefined) return;
    this.entries.delete(k);
    if (fromShard) this.byShard.get(e.r.shard)?.delete(k);
    const a = actorKeyString(e.r.type, e.r.id);
    const names = this.byActor.get(a);
    names?.delete(e.r.name);
    if (names?.size === 0) this.byActor.delete(a);
  }

  private schedule(k: string, e: Entry, at = e.r.due): void {
    this.queue.push({ due: at, key: k, ver: e.ver });
    if (at < this.armedAt) this.arm();
  }

  /** Sets the one clock timer to the earliest due time. */
  private arm(): void {
    if (this.stopped) return;
    let top = this.queue.peek();
    while (top !== undefined && this.entries.get(top.key)?.ver !== top.ver) {
      this.queue.pop();
      top = this.queue.peek();
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = top?.due ?? Number.POSITIVE_INFINITY;
    if (top === undefined) return;
    const delay = Math.min(MAX_DELAY, Math.max(0, top.due - this.host.clock.now()));
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = undefined;
      this.armedAt = Number.POSITIVE_INFINITY;
      this.fireDue();
    }, delay);
  }

  private fireDue(): void {
    const now = this.host.clock.now();
    for (let top = this.queue.peek(); top !== undefined && top.due <= now && this.inFlight < MAX_IN_FLIGHT; top = this.queue.peek()) {
      this.queue.pop();
      const e = this.entries.get(top.key);
      if (e === undefined || e.ver !== top.ver || e.firing) continue;
      this.fire(top.key, e);
    }
    this.arm();
  }

  private fire(k: string, e: Entry): void {
    e.firing = true;
    this.inFlight++;
    const r = e.r;
    let done: Promise<boolean>;
    try {
      done =
        r.name === WAKE_NAME ? this.host.wake(r.type, r.id) : this.host.deliver(r, { type: REMINDER_SENDER, id: r.name, v: r.set, i: r.n }).then(() => true);
    } catch (err) {
      done = Promise.reject(err);
    }
    done.then(
      (again) => this.fired(k, e, undefined, again),
      (err: unknown) => this.fired(k, e, err),
    );
  }

  /** A firing ended: `again` false ends a repeating reminder (a woken actor with nothing left to send). */
  private fired(k: string, e: Entry, err: unknown, again = true): void {
    this.inFlight--;
    e.firing = false;
    if (this.stopped || this.entries.get(k) !== e) return this.arm(); // cancelled, replaced or its shard left
    const r = e.r;
    if (err !== undefined && !ShoalError.is(err, ErrorCode.REJECTED)) {
      e.attempts++;
      if (e.attempts === 5) this.host.log.warn({ err, type: r.type, name: r.name }, "a reminder's firing keeps failing; retrying");
      this.schedule(k, e, this.host.clock.now() + Math.min(5000, 50 * 2 ** (e.attempts - 1)));
      return this.arm();
    }
    if (err !== undefined) this.host.log.debug({ err, type: r.type, name: r.name }, "an actor refused its reminder's firing");
    const repeats = again && (r.every !== undefined || r.cron !== undefined);
    const due = repeats ? nextDue(r, this.host.clock.now(), r.due) : Number.POSITIVE_INFINITY;
    const failed = (what: string) => (err2: unknown) => this.host.log.warn({ err: err2, type: r.type, name: r.name }, what);
    if (due === Number.POSITIVE_INFINITY) {
      this.remove(k);
      this.storage.advance(r, undefined).catch(failed("a fired reminder could not be deleted: its next owner fires it again"));
    } else {
      const next: StoredReminder = { ...r, due, n: r.n + 1 };
      this.upsert(k, next);
      this.storage.advance(r, next).catch(failed("a reminder's next firing could not be stored: its next owner fires this one again"));
    }
    this.fireDue();
  }
}
