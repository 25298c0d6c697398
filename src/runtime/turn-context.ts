import type { ActorType } from "../actor/calls.js";
import { checkActorId, checkActorTypeName } from "../actor/names.js";
import type { TurnContext, TurnRef } from "../actor/spec.js";
import type { Clock } from "../clock.js";
import { BadRequestError, CallCycleError, ShoalError, TimeoutError } from "../errors.js";
import type { Caller } from "../ref.js";
import type { ActorKey } from "../store/types.js";
import type { ReminderService } from "../reminders/service.js";
import { TurnReminders } from "../reminders/turn-reminders.js";
import { TurnTopicsOf } from "../topics/turn-topics.js";
import { MAX_CHAIN } from "./outgoing.js";
import type { OutboxView } from "./postbox.js";
import type { TurnTimers } from "./timers.js";

/** What a turn's references need from the runtime. */
export interface TurnHost {
  readonly nodeId: string;
  readonly clock: Clock;
  /** Where a turn's asks and an in-memory actor's sends go: the node's router, or the runtime itself. */
  readonly outbound: Caller;
  /** Timeout of an ask that gives none (before the cap by the message's own deadline). */
  readonly askTimeout: number;
  /** The reminders of the shards this node owns. */
  readonly reminders: ReminderService;
}

/** A message a turn queued with `send` or `tell`: it leaves once the turn is applied. */
export interface Sent {
  readonly type: string;
  readonly id: string;
  readonly msg: unknown;
  readonly tell: boolean;
}

/**
 * The context of one turn (or of onActivate): what it knows, its timers, and its references to
 * other actors. One object per turn, its methods on the prototype.
 */
export class TurnCtx implements TurnContext {
  /** What the turn queued with send/tell, in order (made on the first). */
  sent: Sent[] | undefined;
  /** Its reminder changes (made when `reminders` is first read). */
  private turnReminders: TurnReminders | undefined;
  /** The turn called `stop()`: its activation ends once the turn has succeeded. */
  stopAsked = false;
  /** @internal Its actor's outbox as the turn began (undefined when it has none); set by the activation. */
  outbox: OutboxView | undefined;
  /** @internal Receivers whose unacknowledged messages this turn abandons (see {@link abandon}). */
  abandoned: ActorKey[] | undefined;
  /** @internal How many messages the abandons free. */
  abandonedPending = 0;
  private closed = false;

  constructor(
    readonly type: string,
    readonly id: string,
    readonly node: string,
    readonly version: number,
    readonly now: number,
    readonly timers: TurnTimers,
    private readonly host: TurnHost,
    /** Clock time the message's caller stops waiting (infinite for a timer's message). */
    private readonly deadline: number,
    /** Actors waiting on this message in asks; undefined when none. */
    private readonly callers: readonly ActorKey[] | undefined,
    /** False in onActivate: it is no turn, so it stores nothing and sends nothing. */
    private readonly canSend: boolean,
    /** The actor type's validate (a reminder's message is checked when it is set). */
    private readonly validateOwn: (msg: unknown) => unknown,
    /** False for a singleton, which runs for as long as its cluster. */
    private readonly stoppable: boolean,
  ) {}

  get reminders(): TurnReminders {
    this.open();
    this.turnReminders ??= new TurnReminders(this.host.reminders, { type: this.type, id: this.id }, this.now, this.validateOwn);
    return this.turnReminders;
  }

  /** The reminder changes the turn made, if any. */
  get reminderChanges() {
    const c = this.turnReminders?.changes;
    return c === undefined || c.size === 0 ? undefined : [...c.values()];
  }

  get topics(): TurnTopicsOf {
    this.open();
    return new TurnTopicsOf(this);
  }

  ref<A extends ActorType>(type: A, id: string): TurnRef<A> {
    this.open();
    return new OutRef(this, checkActorTypeName(type?.type), checkActorId(id), type) as unknown as TurnRef<A>;
  }

  stop(): void {
    this.open();
    if (!this.stoppable) throw new TypeError(`${this.type} is a singleton: it runs for as long as its cluster`);
    this.stopAsked = true;
  }

  /** The turn is over: its references and timers take nothing more. */
  close(): void {
    this.closed = true;
    this.timers.close();
    this.turnReminders?.close();
  }

  /** @internal A reference queues a message. */
  queue(to: OutRef, msg: unknown, tell: boolean): void {
    this.open();
    if (!this.canSend) throw new TypeError("onActivate cannot send messages (it is not a turn): start a timer, and send from its turn");
    const validate = (to.def as { validate?: unknown }).validate;
    if (typeof validate === "function") {
      try {
        msg = validate(msg);
      } catch (err) {
        if (ShoalError.is(err)) throw err;
        throw new BadRequestError(`invalid message for ${to.type}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
    }
    this.sent ??= [];
    this.sent.push({ type: to.type, id: to.id, msg, tell });
  }

  /**
   * @internal Gives up, once the turn is applied, every message to `type`/`id` that earlier turns
   * sent and the receiver has not acknowledged: recorded with the turn's events (which must not be
   * empty), so a reload does not send them again. For the topic broker's fault policy.
   */
  abandon(type: string, id: string): void {
    this.open();
    if (!this.canSend) throw new TypeError("onActivate cannot abandon messages (it is not a turn)");
    this.abandoned ??= [];
    this.abandoned.push({ type, id });
    this.abandonedPending += this.outbox?.pendingTo(type, id) ?? 0;
  }

  /** @internal A reference asks, on behalf of this turn. */
  ask(to: OutRef, msg: unknown, timeout: number | undefined): Promise<unknown> {
    this.open();
    const chain: ActorKey[] = [...(this.callers ?? []), { type: this.type, id: this.id }];
    // A definition says whether the target takes calls back (reentrant). Known by name only, it
    // is sent, and the receiver decides (it checks the chain too).
    const def = to.def as { kind?: unknown; reentrant?: unknown };
    const refuses = def.kind !== undefined && def.reentrant !== true;
    if (refuses && chain.some((k) => k.type === to.type && k.id === to.id)) {
      return Promise.reject(callCycle(chain, to));
    }
    if (chain.length > MAX_CHAIN) return Promise.reject(new BadRequestError(`a chain of asks may hold at most ${MAX_CHAIN} actors`));
    const left = this.deadline - this.host.clock.now();
    if (left <= 0) return Promise.reject(new TimeoutError(`no time left to ask ${to.type}`, { details: { type: to.type } }));
    const t = Math.min(timeout ?? this.host.askTimeout, left);
    return this.host.outbound.ask(to.type, to.id, msg, { timeout: Math.max(1, Math.floor(t)), from: { chain } });
  }

  private open(): void {
    if (this.closed) throw new TypeError("a turn's context was used after its turn ended");
  }
}

/** The error for an ask along `chain` (first caller first, the asker last) to `to`, which waits in it. */
export function callCycle(chain: readonly ActorKey[], to: ActorKey): CallCycleError {
  const shown = chain.map((k) => `${k.type}/${k.id.slice(0, 100)}`);
  return new CallCycleError(`${shown.at(-1)} asked ${to.type}/${to.id.slice(0, 100)}, which waits in the same chain of asks`, { details: { chain: shown } });
}

/** A reference made in a turn: its calls belong to that turn. */
class OutRef {
  constructor(
    private readonly ctx: TurnCtx,
    readonly type: string,
    readonly id: string,
    /** What the reference was made from: a definition's validate checks what is sent. */
    readonly def: ActorType,
  ) {}

  ask(msg: unknown, opts?: { timeout?: number }): Promise<unknown> {
    return this.ctx.ask(this, msg, opts?.timeout);
  }

  send(msg: unknown): void {
    this.ctx.queue(this, msg, false);
  }

  tell(msg: unknown): void {
    this.ctx.queue(this, msg, true);
  }

  toString(): string {
    return `${this.type}/${this.id}`;
  }
}
