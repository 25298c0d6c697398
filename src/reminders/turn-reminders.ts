import { checkActorId } from "../actor/names.js";
import { msgpack } from "../codec/msgpack.js";
import { roundTrip } from "../store/checks.js";
import type { ActorKey } from "../store/types.js";
import { firstDue, MAX_REMINDER_NAME_LENGTH, MAX_REMINDERS, type ReminderWhen } from "./schedule.js";
import type { ReminderChange, ReminderInfo, ReminderService } from "./service.js";

/** A turn's view of its actor's reminders (`ctx.reminders`): changes recorded, applied once the turn is. */
export class TurnReminders {
  /** Changes by name, in the order last made (made on the first). */
  changes: Map<string, ReminderChange> | undefined;
  private closed = false;

  constructor(
    private readonly service: ReminderService,
    private readonly key: ActorKey,
    private readonly now: number,
    /** The actor type's validate: a reminder's message is checked when it is set. */
    private readonly validate: (msg: unknown) => unknown,
  ) {}

  set(name: string, when: ReminderWhen, msg: unknown): void {
    this.open();
    checkName(name);
    const { schedule, due } = firstDue(when, this.now);
    const valid = this.validate(msg);
    roundTrip(msgpack, valid, "reminder message");
    if (!this.has(name) && this.list().length >= MAX_REMINDERS) throw new TypeError(`an actor may have at most ${MAX_REMINDERS} reminders`);
    this.record({ name, set: { schedule, due, msg: valid } });
  }

  cancel(name: string): void {
    this.open();
    checkName(name);
    this.record({ name, cancel: true });
  }

  list(): ReminderInfo[] {
    const stored = this.service.list(this.key);
    if (this.changes === undefined) return stored;
    const out = stored.filter((r) => !this.changes!.has(r.name));
    for (const c of this.changes.values()) if ("set" in c) out.push({ name: c.name, due: c.set.due, msg: c.set.msg, ...c.set.schedule });
    return out.sort((a, b) => a.due - b.due || (a.name < b.name ? -1 : 1));
  }

  /** The turn is over: no more changes. */
  close(): void {
    this.closed = true;
  }

  private has(name: string): boolean {
    const c = this.changes?.get(name);
    if (c !== undefined) return "set" in c;
    return this.service.list(this.key).some((r) => r.name === name);
  }

  private record(c: ReminderChange): void {
    this.changes ??= new Map();
    this.changes.delete(c.name);
    this.changes.set(c.name, c);
  }

  private open(): void {
    if (this.closed) throw new TypeError("ctx.reminders was used after its turn ended");
  }
}

function checkName(name: unknown): void {
  // A leading NUL is the runtime's own (WAKE_NAME).
  let ok = typeof name === "string" && name.length <= MAX_REMINDER_NAME_LENGTH && !name.startsWith("\u0000");
  try {
    checkActorId(name); // a firing carries the name as its origin's id: non-empty, well-formed
  } catch {
    ok = false;
  }
  if (!ok) throw new TypeError(`a reminder's name must be well-formed text of 1 to ${MAX_REMINDER_NAME_LENGTH} characters`);
}
