import { checkActorId, checkActorTypeName } from "../actor/names.js";
import type { ActorKey } from "../store/types.js";

/**
 * One message an event-sourced actor sent from a turn: the sender, the sender's version after the
 * batch that recorded it, and its index among that batch's messages. Unique per message, and
 * increasing in the order the sender sends: a receiver applies each origin once (it keeps the
 * last one it applied per sender).
 */
export interface Origin {
  readonly type: string;
  readonly id: string;
  readonly v: number;
  readonly i: number;
}

/** How a message reached the actor: the outgoing message it is (`origin`), and the actors waiting on it in asks (`chain`). */
export interface From {
  readonly origin?: Origin;
  /** The actors whose turns wait for this message's answer, the first caller first. */
  readonly chain?: readonly ActorKey[];
}

/** A message a turn sent, recorded with the turn's events, until its receiver has applied it. */
export interface Outgoing {
  /** The receiver's type and id. */
  readonly type: string;
  readonly id: string;
  readonly msg: unknown;
  /** Sent with `tell` (a refusal is logged at debug, not warn); delivered exactly once all the same. */
  readonly tell: boolean;
  /** Version of the sender after the batch that recorded it. */
  readonly v: number;
  /** Its index among that batch's messages. */
  readonly i: number;
}

/** What an actor's messages between actors stand at: sent and not yet acknowledged, and the last applied per sender. */
export interface MailState {
  readonly outbox: readonly Outgoing[];
  readonly seen: readonly Origin[];
  /** Every message of the batches up to this version has been acknowledged. */
  readonly acked: number;
}

/** Longest call chain (actors waiting on one another in asks) a message may carry. */
export const MAX_CHAIN = 16;

/** Most outgoing messages an actor may have waiting for acknowledgement; a turn past it fails with OVERLOADED. */
export const MAX_OUTBOX = 10_000;

/** Whether `a` comes before `b` in a sender's order. */
export function before(a: { v: number; i: number }, b: { v: number; i: number }): boolean {
  return a.v < b.v || (a.v === b.v && a.i < b.i);
}

/** One key per actor for maps (a NUL cannot occur in a type name). */
export function actorKeyString(type: string, id: string): string {
  return `${type}\u0000${id}`;
}

/**
 * The stored forms, compact because they ride on every batch that sends:
 * - a batch's meta `{o?: [[type, id, msg, tell 0|1], …], n?: [type, id, v, i], a?: acked, x?: [[type, id], …]}`:
 *   the messages the turn sent (their `v` is the batch's version, `i` their index), the origin of
 *   the message it applied, the acknowledgement mark reached so far, and the receivers whose
 *   unacknowledged messages from earlier batches the turn abandoned;
 * - a snapshot's (and a handoff's) `{p?: [[type, id, msg, tell, v, i], …], s?: [[type, id, v, i], …], a}`.
 *
 * A message that is the very object of an earlier entry of the same list (one publication sent to
 * many subscribers) is stored once: the later entries are `[type, id, null, tell, j]` in `o` and
 * `[type, id, null, tell, v, i, j]` in `p`, `j` the index of the entry that holds it.
 */
export interface BatchMetaForm {
  o?: unknown[][];
  n?: unknown[];
  a?: number;
  x?: unknown[][];
}

/** The meta of a batch at `version` (undefined when there is nothing to record). */
export function batchMeta(
  sent: readonly { type: string; id: string; msg: unknown; tell: boolean }[] | undefined,
  applied: Origin | undefined,
  acked: number | undefined,
  abandoned?: readonly ActorKey[],
): BatchMetaForm | undefined {
  if (sent === undefined && applied === undefined && acked === undefined && abandoned === undefined) return undefined;
  const meta: BatchMetaForm = {};
  if (sent !== undefined && sent.length > 0) meta.o = shareMessages(sent, (m) => [m.type, m.id, m.msg, m.tell ? 1 : 0]);
  if (applied !== undefined) meta.n = [applied.type, applied.id, applied.v, applied.i];
  if (acked !== undefined) meta.a = acked;
  if (abandoned !== undefined && abandoned.length > 0) meta.x = abandoned.map((k) => [k.type, k.id]);
  return meta;
}

/** The compact form of a mail state (snapshots and handoffs); undefined when there is nothing to keep. */
export function mailForm(m: MailState): Record<string, unknown> | undefined {
  if (m.outbox.length === 0 && m.seen.length === 0 && m.acked === 0) return undefined;
  const form: Record<string, unknown> = { a: m.acked };
  if (m.outbox.length > 0) form.p = shareMessages(m.outbox, (o) => [o.type, o.id, o.msg, o.tell ? 1 : 0, o.v, o.i]);
  if (m.seen.length > 0) form.s = m.seen.map((o) => [o.type, o.id, o.v, o.i]);
  return form;
}

/**
 * Each entry's form (its message at index 2), except that a message object already held by an
 * earlier entry is replaced by `null` and that entry's index is appended.
 */
function shareMessages<T extends { msg: unknown }>(list: readonly T[], form: (m: T) => unknown[]): unknown[][] {
  if (list.length < 2) return list.map(form);
  const first = new Map<unknown, number>();
  return list.map((m, k) => {
    const e = form(m);
    if (typeof m.msg !== "object" || m.msg === null) return e;
    const j = first.get(m.msg);
    if (j === undefined) {
      first.set(m.msg, k);
      return e;
    }
    e[2] = null;
    e.push(j);
    return e;
  });
}

const count = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Parses a value the runtime stored or a peer handed over; `fail(what)` builds the error to throw. */
function reader(fail: (what: string) => Error) {
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw fail(what);
  };
  const key = (t: unknown, id: unknown, what: string): void => {
    try {
      checkActorTypeName(t);
      checkActorId(id);
    } catch {
      throw fail(what);
    }
  };
  const origin = (e: unknown, what: string): Origin => {
    need(Array.isArray(e) && e.length === 4, what);
    const [t, id, v, i] = e as unknown[];
    key(t, id, what);
    need(count(v) && count(i), what);
    return { type: t as string, id: id as string, v: v as number, i: i as number };
  };
  /** An entry's message: its own (index 2), or, when it has `at + 1` fields, that of the earlier entry `e[at]` names. */
  const message = (e: readonly unknown[], at: number, before: readonly { msg: unknown }[]): unknown => {
    if (e.length === at) return e[2];
    const j = e[at];
    need(e[2] === null && count(j) && j < before.length, "a shared message's entry");
    return before[j as number]!.msg;
  };
  return { need, key, origin, message };
}

/** What one batch's meta says (see {@link BatchMetaForm}). */
export interface ParsedBatchMeta {
  sent: Omit<Outgoing, "v" | "i">[];
  applied?: Origin;
  acked?: number;
  /** Receivers whose messages from earlier batches this batch abandoned. */
  abandoned?: ActorKey[];
}

/** The batch meta the runtime stored (its own data: anything off is an `InternalError` from `fail`). */
export function parseBatchMeta(value: unknown, fail: (what: string) => Error): ParsedBatchMeta {
  const r = reader(fail);
  r.need(typeof value === "object" && value !== null && !Array.isArray(value), "meta is not a map");
  const m = value as Record<string, unknown>;
  const sent: Omit<Outgoing, "v" | "i">[] = [];
  if (m.o !== undefined) {
    r.need(Array.isArray(m.o), "meta's o");
    for (const e of m.o as unknown[]) {
      r.need(Array.isArray(e) && (e.length === 4 || e.length === 5) && (e[3] === 0 || e[3] === 1) && e[2] !== undefined, "an outgoing message");
      const [t, id, , tell] = e as unknown[];
      r.key(t, id, "an outgoing message's receiver");
      sent.push({ type: t as string, id: id as string, msg: r.message(e as unknown[], 4, sent), tell: tell === 1 });
    }
  }
  const out: ParsedBatchMeta = { sent };
  if (m.n !== undefined) out.applied = r.origin(m.n, "meta's n");
  if (m.a !== undefined) {
    r.need(count(m.a), "meta's a");
    out.acked = m.a as number;
  }
  if (m.x !== undefined) {
    r.need(Array.isArray(m.x), "meta's x");
    out.abandoned = (m.x as unknown[]).map((e) => {
      r.need(Array.isArray(e) && e.length === 2, "an abandoned receiver");
      const [t, id] = e as unknown[];
      r.key(t, id, "an abandoned receiver");
      return { type: t as string, id: id as string };
    });
  }
  return out;
}

/** A mail state in its compact form (a snapshot's meta, or a peer's handoff); `limit` bounds its lists. */
export function parseMail(value: unknown, fail: (what: string) => Error, limit = Number.POSITIVE_INFINITY): MailState {
  const r = reader(fail);
  r.need(typeof value === "object" && value !== null && !Array.isArray(value), "mail is not a map");
  const m = value as Record<string, unknown>;
  for (const k of Object.keys(m)) r.need(k === "a" || k === "p" || k === "s", "mail's fields (a, p, s)");
  r.need(count(m.a), "mail's a");
  const outbox: Outgoing[] = [];
  const seen: Origin[] = [];
  if (m.p !== undefined) {
    r.need(Array.isArray(m.p) && m.p.length <= limit, "mail's p");
    for (const e of m.p as unknown[]) {
      r.need(Array.isArray(e) && (e.length === 6 || e.length === 7) && (e[3] === 0 || e[3] === 1) && e[2] !== undefined, "a pending message");
      const [t, id, , tell, v, i] = e as unknown[];
      r.key(t, id, "a pending message's receiver");
      r.need(count(v) && count(i), "a pending message's place");
      const msg = r.message(e as unknown[], 6, outbox);
      outbox.push({ type: t as string, id: id as string, msg, tell: tell === 1, v: v as number, i: i as number });
    }
  }
  if (m.s !== undefined) {
    r.need(Array.isArray(m.s) && m.s.length <= limit, "mail's s");
    for (const e of m.s as unknown[]) seen.push(r.origin(e, "a sender's mark"));
  }
  return { outbox, seen, acked: m.a as number };
}

/** Checks an origin given in the wire's form `[type, id, v, i]`. */
export function parseOrigin(value: unknown, fail: (what: string) => Error): Origin {
  return reader(fail).origin(value, "origin");
}

/** Checks a call chain given in the wire's form `[[type, id], …]` (at most {@link MAX_CHAIN}). */
export function parseChain(value: unknown, fail: (what: string) => Error): ActorKey[] {
  const r = reader(fail);
  r.need(Array.isArray(value) && value.length >= 1 && value.length <= MAX_CHAIN, `chain (1 to ${MAX_CHAIN} actors)`);
  return (value as unknown[]).map((e) => {
    r.need(Array.isArray(e) && e.length === 2, "chain entry [type, id]");
    const [t, id] = e as unknown[];
    r.key(t, id, "chain entry");
    return { type: t as string, id: id as string };
  });
}

/** The wire forms of {@link From}: `{o?: [type, id, v, i], c?: [[type, id], …]}`. */
export function fromForm(from: From): { o?: unknown[]; c?: unknown[][] } {
  const f: { o?: unknown[]; c?: unknown[][] } = {};
  if (from.origin !== undefined) f.o = [from.origin.type, from.origin.id, from.origin.v, from.origin.i];
  if (from.chain !== undefined) f.c = from.chain.map((k) => [k.type, k.id]);
  return f;
}

/** Checks the wire form of {@link From}. */
export function parseFrom(value: unknown, fail: (what: string) => Error): From {
  const r = reader(fail);
  r.need(typeof value === "object" && value !== null && !Array.isArray(value), "from");
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) r.need(k === "o" || k === "c", "from's fields");
  r.need(v.o !== undefined || v.c !== undefined, "from (empty)");
  const origin = v.o === undefined ? undefined : parseOrigin(v.o, fail);
  const chain = v.c === undefined ? undefined : parseChain(v.c, fail);
  if (origin !== undefined && chain !== undefined) return { origin, chain };
  return origin !== undefined ? { origin } : { chain: chain! };
}

/**
 * An event-sourced actor's mail state as its journal gives it: the snapshot's (if any), then
 * each later batch's meta in order. Messages at or below the last acknowledgement mark are done,
 * and so are those to a receiver a later batch abandoned; the rest are sent again (their
 * receivers apply each once).
 */
export function mailFromJournal(
  snapshotMeta: unknown,
  metas: readonly { version: number; meta: unknown }[],
  fail: (what: string) => Error,
): MailState | undefined {
  if (snapshotMeta === undefined && metas.length === 0) return undefined;
  const base = snapshotMeta === undefined ? { outbox: [], seen: [], acked: 0 } : parseMail(snapshotMeta, fail);
  let outbox = [...base.outbox];
  const seen = new Map(base.seen.map((o) => [actorKeyString(o.type, o.id), o]));
  let acked = base.acked;
  for (const { version, meta } of metas) {
    const m = parseBatchMeta(meta, fail);
    if (m.abandoned !== undefined) {
      const gone = new Set(m.abandoned.map((k) => actorKeyString(k.type, k.id)));
      outbox = outbox.filter((o) => !gone.has(actorKeyString(o.type, o.id)));
    }
    for (const [i, s] of m.sent.entries()) outbox.push({ ...s, v: version, i });
    if (m.applied !== undefined) {
      const k = actorKeyString(m.applied.type, m.applied.id);
      const had = seen.get(k);
      if (had === undefined || before(had, m.applied)) seen.set(k, m.applied);
    }
    if (m.acked !== undefined && m.acked > acked) acked = m.acked;
  }
  return { outbox: outbox.filter((o) => o.v > acked), seen: [...seen.values()], acked };
}
