import { checkActorId, checkActorTypeName } from "../src/actor/names.js";
import { checkOrder, checkSender, MAX_SENDER_LENGTH, MAX_TIMEOUT_MS, type SenderSeq } from "../src/codec/envelope.js";
import { BadRequestError } from "../src/errors.js";
import { type CapturedTimer, MAX_TIMER_DELAY, MAX_TIMER_NAME_LENGTH, MAX_TIMERS } from "../src/runtime/timers.js";
import { type From, fromForm, MAX_OUTBOX, type MailState, mailForm, parseFrom, parseMail } from "../src/runtime/outgoing.js";

/**
 * Node-to-node requests on `shoal.<cluster>.node.<token(id)>.rpc`, MessagePack, every one
 * answered with the response envelope (`{ok, reply}` / `{ok: false, error}`). Decoded under the
 * codec's limits and checked here field by field: a peer is trusted no more than a client.
 */
export type RpcRequest = ForwardedAsk | HandoffBatch | TailEnd;

/** An ask routed to the node that owns (or owned, or will own) the actor's shard. */
export interface ForwardedAsk {
  k: "ask";
  type: string;
  id: string;
  msg: unknown;
  /** Milliseconds the caller still waits. */
  timeoutMs: number;
  /** The sender's map version: a receiver with an older map waits for it before judging ownership. */
  mapVersion: number;
  /** Forwards so far; bounded so stale maps cannot bounce a message forever. */
  hops: number;
  /**
   * Set on messages a migration source buffered while paused (its "tail"): the destination
   * queues them ahead of what it held, in the order they arrive, until the {@link TailEnd}.
   */
  tail?: number;
  /** The caller does not want the actor's reply (a send): it is answered `null` once the turn is done. */
  discard?: true;
  /**
   * A tell (implies `discard`): not answered on its own. Its batch's tell acknowledgement
   * (`batch-wire.ts`) covers it, once the turns of every tell in that batch are done.
   */
  tell?: true;
  /**
   * A client's place in its order of messages to the actor (the ingress contract's `sender`,
   * `seq`, `settled`): the owner applies the sender's messages in `seq` order. In the object form
   * `{sender, seq, settled}`; in the flat form three trailing items.
   */
  order?: SenderSeq;
  /**
   * A message from another actor: `origin`, the outgoing message it is (the receiver applies each
   * once), and `chain`, the actors waiting on it in asks (one asked again fails with CALL_CYCLE).
   * On the wire `{o?: [type, id, v, i], c?: [[type, id], …]}`; in the flat form the last item.
   */
  from?: From;
}

/** Phase 1 of a shard's migration: state of the active actors, in batches. */
export interface HandoffBatch {
  k: "handoff";
  shard: number;
  /** The map that moved the shard, and its epoch. */
  mapVersion: number;
  epoch: number;
  from: string;
  /**
   * Each actor's state, with its per-sender order table (`[sender, next]`) and its timers
   * (`{name, in, every?, msg}`: ms until due, period, message) when it has them.
   */
  actors: HandedActor[];
}

/**
 * One actor in a handoff. `mail` (its unacknowledged outgoing messages and the last message
 * applied per sending actor) travels in the compact form of `mailForm`, and is a
 * {@link MailState} once {@link parseRpc} has checked it.
 */
export interface HandedActor {
  type: string;
  id: string;
  version: number;
  state: unknown;
  order?: Array<[string, number]>;
  timers?: CapturedTimer[];
  mail?: MailState;
}

/** An actor as it goes into a handoff: its mail in the compact form. */
export function handedActor<A extends { mail?: MailState }>(a: A): A {
  if (a.mail === undefined) return a;
  const { mail, ...rest } = a;
  const form = mailForm(mail);
  return (form === undefined ? rest : { ...rest, mail: form }) as A;
}

/** Phase 2 ends: every tail message of the shard has been sent (`count` of them), in order. */
export interface TailEnd {
  k: "tail-end";
  shard: number;
  mapVersion: number;
  from: string;
  count: number;
}

const int = (v: unknown, min = 0): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= min;

function need(ok: boolean, what: string): void {
  if (!ok) throw malformedField(what);
}

function malformedField(what: string): BadRequestError {
  return new BadRequestError(`malformed node request: ${what}`);
}

/** Like the ingress, a node request names no field it does not define: a mangled one is refused, not reinterpreted. */
function only(v: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(v)) need(allowed.includes(k), `unexpected field ${JSON.stringify(k.slice(0, 30))} in ${what}`);
}

/**
 * What the sender of an ask wants back: the actor's reply (an ask), that the turn is done (a
 * send: answered `null`), or only its batch's acknowledgement (a tell). On the object form it is
 * the `discard` and `tell` flags; on the flat form one number ({@link FLAT_MODE}).
 */
export type Mode = "ask" | "send" | "tell";

/** The mode `a`'s flags say. */
export function modeOf(a: ForwardedAsk): Mode {
  return a.tell === true ? "tell" : a.discard === true ? "send" : "ask";
}

/** Sets the flags of `mode` on `a` (a tell is discarded too). */
export function setMode(a: ForwardedAsk, mode: Mode): void {
  if (mode !== "ask") a.discard = true;
  if (mode === "tell") a.tell = true;
}

function checkAsk(v: Record<string, unknown>): ForwardedAsk {
  only(v, ["k", "type", "id", "msg", "timeoutMs", "mapVersion", "hops", "tail", "discard", "order", "from"], "ask");
  need("msg" in v, "msg");
  need(v.discard === undefined || v.discard === true, "discard");
  // A tell travels only in the flat form: the object form has no batch acknowledgement to give.
  const ask = makeAsk(v.type, v.id, v.msg, v.timeoutMs, v.mapVersion, v.hops, v.tail, v.discard === true ? "send" : "ask");
  if (v.from !== undefined) ask.from = parseFrom(v.from, malformedField);
  if (v.order === undefined) return ask;
  const o = v.order as Record<string, unknown>;
  need(typeof o === "object" && o !== null && !Array.isArray(o), "order");
  only(o, ["sender", "seq", "settled"], "order");
  ask.order = checkOrder(o.sender, o.seq, o.settled);
  return ask;
}

function makeAsk(type: unknown, id: unknown, msg: unknown, timeoutMs: unknown, mapVersion: unknown, hops: unknown, tail: unknown, mode: Mode): ForwardedAsk {
  checkActorTypeName(type);
  checkActorId(id);
  need(int(timeoutMs, 1) && timeoutMs <= MAX_TIMEOUT_MS, "timeoutMs");
  need(int(mapVersion) && int(hops), "mapVersion/hops");
  need(tail === undefined || int(tail), "tail");
  const ask: ForwardedAsk = {
    k: "ask",
    type: type as string,
    id: id as string,
    msg,
    timeoutMs: timeoutMs as number,
    mapVersion: mapVersion as number,
    hops: hops as number,
  };
  if (tail !== undefined) ask.tail = tail as number;
  setMode(ask, mode);
  return ask;
}

/**
 * The flat form of an ask inside a node batch (`batch-wire.ts`): `[type, id, msg, timeoutMs,
 * mapVersion, hops, tail | null, mode]`, where `mode` is 0 for an ask (the reply), 1 for a
 * send (`null` once the turn is done) and 2 for a tell (no answer of its own), followed by
 * `sender, seq, settled` when the message has its client's order ({@link FLAT_ORDERED_ASK_LENGTH}). Asks are nearly
 * all a batch carries; without keys they encode and decode in about 60% of the time and take
 * ~20% fewer bytes.
 */
export const FLAT_ASK_LENGTH = 8;

/** The flat form's length with a sender, seq and settled at its end. */
export const FLAT_ORDERED_ASK_LENGTH = FLAT_ASK_LENGTH + 3;

/** With a message from another actor, the flat form ends with its `from` ({@link ForwardedAsk.from}): one item more. */
const FLAT_FROM = 1;

/** Every length a flat ask may have: plain or ordered, each with or without `from`. */
export const FLAT_ASK_LENGTHS: ReadonlySet<number> = new Set([
  FLAT_ASK_LENGTH,
  FLAT_ORDERED_ASK_LENGTH,
  FLAT_ASK_LENGTH + FLAT_FROM,
  FLAT_ORDERED_ASK_LENGTH + FLAT_FROM,
]);

/** The flat form's last field, by mode. */
export const FLAT_MODE = { ask: 0, send: 1, tell: 2 } as const satisfies Record<Mode, number>;

/** The modes by their flat number. */
const flatModes: readonly Mode[] = ["ask", "send", "tell"];

/** The flat form of `a`, behind `corr`: the whole batch entry in one array. */
export function flattenAsk(a: ForwardedAsk, corr: number): unknown[] {
  const flat = [corr, a.type, a.id, a.msg, a.timeoutMs, a.mapVersion, a.hops, a.tail ?? null, FLAT_MODE[modeOf(a)]];
  if (a.order !== undefined) flat.push(a.order.sender, a.order.seq, a.order.settled);
  if (a.from !== undefined) flat.push(fromForm(a.from));
  return flat;
}

/** Checks the flat form (`v` without the batch's leading `corr`, i.e. from `offset`) like the object form. */
export function parseFlatAsk(v: readonly unknown[], offset: number): ForwardedAsk {
  let length = v.length - offset;
  const from = length === FLAT_ASK_LENGTH + FLAT_FROM || length === FLAT_ORDERED_ASK_LENGTH + FLAT_FROM ? v[v.length - 1] : undefined;
  if (from !== undefined) length -= FLAT_FROM;
  need(length === FLAT_ASK_LENGTH || length === FLAT_ORDERED_ASK_LENGTH, "flat ask length");
  const code = v[offset + 7];
  // Not flatModes[code] alone: "1" (a string) would index the array too.
  const mode = typeof code === "number" ? flatModes[code] : undefined;
  need(mode !== undefined, "mode (0, 1 or 2)");
  const tail = v[offset + 6];
  const ask = makeAsk(v[offset], v[offset + 1], v[offset + 2], v[offset + 3], v[offset + 4], v[offset + 5], tail === null ? undefined : tail, mode!);
  if (length === FLAT_ORDERED_ASK_LENGTH) ask.order = checkOrder(v[offset + 8], v[offset + 9], v[offset + 10]);
  if (from !== undefined) ask.from = parseFrom(from, malformedField);
  return ask;
}

/** Most senders in one handed-over actor's order table. */
export const MAX_ORDER_ENTRIES = 4096;

/** A handed-over order table: `[[sender, next], …]`, each sender checked like the ingress's, next ≥ 1. */
function checkOrderTable(v: unknown): void {
  need(Array.isArray(v) && v.length <= MAX_ORDER_ENTRIES, `order (an array of at most ${MAX_ORDER_ENTRIES} entries)`);
  for (const e of v as unknown[]) {
    need(Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && e[0].length <= MAX_SENDER_LENGTH, "order entry [sender, next]");
    checkSender((e as unknown[])[0]);
    need(int((e as unknown[])[1], 1), "order entry's next");
  }
}

/**
 * Handed-over timers: at most {@link MAX_TIMERS} `{name, in, every?, msg}`, a name of 1 to
 * {@link MAX_TIMER_NAME_LENGTH} characters, `in` from 0 and `every` from 1 to {@link MAX_TIMER_DELAY}
 * ms, whole. The message is checked by the actor type's validate when the timer fires.
 */
function checkTimers(v: unknown): void {
  need(Array.isArray(v) && v.length <= MAX_TIMERS, `timers (an array of at most ${MAX_TIMERS} entries)`);
  for (const t of v as unknown[]) {
    const x = t as Record<string, unknown>;
    need(typeof x === "object" && x !== null && !Array.isArray(x), "timer entry");
    only(x, ["name", "in", "every", "msg"], "timer");
    need(typeof x.name === "string" && x.name.length >= 1 && x.name.length <= MAX_TIMER_NAME_LENGTH, "timer name");
    need(int(x.in) && x.in <= MAX_TIMER_DELAY, "timer's in");
    need(x.every === undefined || (int(x.every, 1) && x.every <= MAX_TIMER_DELAY), "timer's every");
    need("msg" in x && x.msg !== undefined, "timer's msg");
  }
}

function checkHandoff(v: Record<string, unknown>): HandoffBatch {
  only(v, ["k", "shard", "mapVersion", "epoch", "from", "actors"], "handoff");
  need(int(v.shard) && int(v.mapVersion) && int(v.epoch) && typeof v.from === "string" && Array.isArray(v.actors), "handoff fields");
  for (const a of v.actors as unknown[]) {
    const x = a as Record<string, unknown>;
    need(typeof x === "object" && x !== null && !Array.isArray(x), "actor entry");
    only(x, ["type", "id", "version", "state", "order", "timers", "mail"], "handoff actor");
    checkActorTypeName(x.type);
    checkActorId(x.id);
    need(int(x.version) && "state" in x, "actor version/state");
    if (x.order !== undefined) checkOrderTable(x.order);
    if (x.timers !== undefined) checkTimers(x.timers);
    // Pending messages are bounded by the outbox's limit; the marks per sender by the codec's limits, roughly.
    if (x.mail !== undefined) x.mail = parseMail(x.mail, malformedField, 10 * MAX_OUTBOX);
  }
  return v as unknown as HandoffBatch;
}

function checkTailEnd(v: Record<string, unknown>): TailEnd {
  only(v, ["k", "shard", "mapVersion", "from", "count"], "tail-end");
  need(int(v.shard) && int(v.mapVersion) && typeof v.from === "string" && int(v.count), "tail-end fields");
  return { k: "tail-end", shard: v.shard as number, mapVersion: v.mapVersion as number, from: v.from as string, count: v.count as number };
}

/** Checks a decoded node request. */
export function parseRpc(value: unknown): RpcRequest {
  need(typeof value === "object" && value !== null && !Array.isArray(value), "not an object");
  const v = value as Record<string, unknown>;
  switch (v.k) {
    case "ask":
      return checkAsk(v);
    case "handoff":
      return checkHandoff(v);
    case "tail-end":
      return checkTailEnd(v);
    default:
      // Not String(v.k): a client-made object ({"toString": ""}) cannot be converted and throws a TypeError.
      throw new BadRequestError(`unknown node request kind ${typeof v.k === "string" ? JSON.stringify(v.k.slice(0, 20)) : typeof v.k}`);
  }
}
