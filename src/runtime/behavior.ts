import type { ActorDefinition, EventSourcedActor, InMemoryActor } from "../actor/spec.js";
import { InternalError, OverloadedError } from "../errors.js";
import type { ActorKey, EventStore } from "../store/types.js";
import { batchMeta, MAX_OUTBOX, type MailState, mailFromJournal, mailForm, type Origin } from "./outgoing.js";
import type { TurnCtx } from "./turn-context.js";

/** An actor's live state inside an activation. */
export interface Live {
  state: unknown;
  version: number;
  /** Its messages between actors as the journal left them (event-sourced, when it has any). */
  mail?: MailState;
  /** Set by a load: the version of the snapshot it started from (0: none) and the events it replayed. */
  loadedFrom?: { snapshot: number; replayed: number };
}

/** What the activation knows of a turn's messages between actors, for its append. */
export interface TurnBooks {
  /** The origin of the message the turn applies, when it came from another actor. */
  readonly applied?: Origin | undefined;
  /** The acknowledgement mark to record with the batch, when it moved since the last one. */
  readonly acked?: number | undefined;
  /** Outgoing messages still waiting for acknowledgement. */
  readonly pending: number;
  /**
   * Set while the actor is not registered for wake-ups: a turn that sends calls it before its
   * append, so that whoever owns the shard after a crash wakes the actor to send them.
   */
  readonly enlist?: (() => Promise<void>) | undefined;
}

/** The outcome of one turn: the state after it and the reply. */
export interface TurnResult {
  state: unknown;
  version: number;
  reply: unknown;
  /** Events persisted by this turn (0 for queries and in-memory actors). */
  persisted: number;
}

/**
 * How the runtime drives one kind of actor. Both kinds look the same to the mailbox loop:
 * load, turn, and capture/restore for handoff. A turn returns synchronously when it can, so a
 * query on a warm actor costs no promise hop.
 */
export interface Behavior {
  readonly def: ActorDefinition;
  load(key: ActorKey): Live | Promise<Live>;
  turn(key: ActorKey, live: Live, msg: unknown, ctx: TurnCtx, books: TurnBooks): TurnResult | Promise<TurnResult>;
  /** Codec-safe form of the state, for handoff. */
  capture(live: Live): unknown;
  /** Inverse of capture. */
  restore(data: unknown): unknown;
  /** Called after a turn that persisted events: saves a snapshot when one is due (true then). Never throws. */
  afterPersist?(key: ActorKey, live: Live, previousVersion: number, mail: () => MailState | undefined, hot: boolean): boolean;
  /** Saves a snapshot of `live` now (best-effort; never throws). Event-sourced types only. */
  snapshotNow?(key: ActorKey, live: Live, mail: MailState | undefined): void;
}

/** Throws when the node must not act for `key` now (see RuntimeOptions.fence). */
export type Fence = (key: ActorKey) => void;

export function behaviorOf(def: ActorDefinition, store: EventStore, onError: (err: unknown) => void, fence?: Fence): Behavior {
  return def.kind === "event-sourced" ? eventSourced(def, store, onError, fence) : inMemory(def, fence);
}

function eventSourced(def: EventSourcedActor, store: EventStore, onError: (err: unknown) => void, fence: Fence | undefined): Behavior {
  const complete = (live: Live, reply: unknown, events: readonly unknown[], version: number): TurnResult => {
    let state = live.state;
    for (const e of events) state = def.evolve(state, e);
    return { state, version, reply, persisted: events.length };
  };
  return {
    def,
    async load(key) {
      const journal = await store.load(key);
      let state = journal.snapshot === undefined ? def.initialState(key.id) : def.snapshot.fromData(journal.snapshot.state);
      for (const e of journal.events) state = def.evolve(state, e.event);
      const malformed = (what: string) =>
        new InternalError(`malformed message bookkeeping in the journal of ${key.type}: ${what}`, { details: { type: key.type } });
      const mail = mailFromJournal(journal.snapshot?.meta, journal.metas ?? [], malformed);
      const loadedFrom = { snapshot: journal.snapshot?.version ?? 0, replayed: journal.events.length };
      return mail === undefined ? { state, version: journal.version, loadedFrom } : { state, version: journal.version, mail, loadedFrom };
    },
    turn(key, live, msg, ctx, books) {
      fence?.(key);
      const decided = def.handle(live.state as Readonly<unknown>, msg, ctx);
      const finish = (d: { events?: readonly unknown[]; reply: unknown }): TurnResult | Promise<TurnResult> => {
        const events = d.events ?? [];
        const sent = ctx.sent;
        const abandoned = ctx.abandoned;
        if ((sent !== undefined || abandoned !== undefined) && events.length === 0) {
          throw new TypeError(`a turn of event-sourced ${key.type} sent messages without recording an event: they are stored with its events`);
        }
        if (sent !== undefined) {
          if (books.pending - ctx.abandonedPending + sent.length > MAX_OUTBOX) {
            throw new OverloadedError(`${key.type} has ${books.pending} messages waiting for their receivers (at most ${MAX_OUTBOX})`, {
              details: { type: key.type, pending: books.pending },
            });
          }
        }
        if (events.length === 0) return { state: live.state, version: live.version, reply: d.reply, persisted: 0 };
        const meta = batchMeta(sent, books.applied, books.acked, abandoned);
        const append = () => {
          fence?.(key); // again: the handler may have awaited while ownership moved
          return store.append(key, events, live.version, meta).then((v) => complete(live, d.reply, events, v));
        };
        return sent !== undefined && books.enlist !== undefined ? books.enlist().then(append) : append();
      };
      return decided instanceof Promise ? decided.then(finish) : finish(decided);
    },
    capture: (live) => def.snapshot.toData(live.state),
    restore: (data) => def.snapshot.fromData(data),
    afterPersist(key, live, previousVersion, mail, hot) {
      // A hot actor (adaptive policy) snapshots twice as often: its loads replay less.
      const every = hot && def.snapshotEvery > 1 ? Math.floor(def.snapshotEvery / 2) : def.snapshotEvery;
      if (every === 0 || Math.floor(live.version / every) === Math.floor(previousVersion / every)) return false;
      saveSnapshot(key, live, mail());
      return true;
    },
    snapshotNow: (key, live, mail) => saveSnapshot(key, live, mail),
  };

  function saveSnapshot(key: ActorKey, live: Live, mail: MailState | undefined): void {
    let data: unknown;
    try {
      data = def.snapshot.toData(live.state);
    } catch (err) {
      onError(err);
      return;
    }
    const meta = mail === undefined ? undefined : mailForm(mail);
    store.saveSnapshot(key, meta === undefined ? { version: live.version, state: data } : { version: live.version, state: data, meta }).catch(onError);
  }
}

function inMemory(def: InMemoryActor, fence: Fence | undefined): Behavior {
  const finish = (live: Live, t: { state: unknown; reply: unknown }): TurnResult => ({
    state: t.state,
    version: live.version + 1,
    reply: t.reply,
    persisted: 0,
  });
  return {
    def,
    load: (key) => ({ state: def.initialState(key.id), version: 0 }),
    turn(key, live, msg, ctx) {
      fence?.(key);
      const t = def.handle(live.state, msg, ctx);
      return t instanceof Promise ? t.then((r) => finish(live, r)) : finish(live, t);
    },
    capture: (live) => def.serialize(live.state),
    restore: (data) => def.deserialize(data),
  };
}
