import type { MsgHdrs } from "@nats-io/transport-node";
import { ACTOR_TYPE_PATTERN } from "../../src/actor/names.js";
import { decodeToken, encodeToken } from "../../src/codec/token.js";
import { msgpack } from "../../src/codec/msgpack.js";
import { Headers } from "../../src/store/jetstream-layout.js";
import { splitPayload } from "../../src/store/jetstream-journal.js";

/** Which actor a journal message belongs to, from its subject `shoal.<cluster>.journal.<type>.<token(id)>`. */
export interface JournalAddress {
  readonly type: string;
  readonly id: string;
}

/** One journal batch as a projection reads it. */
export interface JournalBatch extends JournalAddress {
  readonly seq: number;
  /** The actor's version after the batch. */
  readonly version: number;
  readonly events: readonly unknown[];
  /** When it was appended (ms). */
  readonly time: number;
}

/** The actor of a journal subject, or undefined for a subject that is not one (never written by Shoal). */
export function journalAddress(subject: string, prefixLength: number): JournalAddress | undefined {
  const rest = subject.slice(prefixLength);
  const dot = rest.indexOf(".");
  if (dot < 0) return undefined;
  const type = rest.slice(0, dot);
  const token = rest.slice(dot + 1);
  if (!ACTOR_TYPE_PATTERN.test(type) || token === "" || token.includes(".")) return undefined;
  const id = decodeToken(token);
  return encodeToken(id) === token ? { type, id } : undefined;
}

/** A stored journal message, as a consumer or a get by sequence gives it. */
export interface JournalMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** When it was stored (ms). */
  readonly time: number;
}

/**
 * The events of a journal message, checked like a load checks them: a count and version
 * header, and a payload of exactly that many events. Throws on anything else.
 */
export function journalBatch(m: JournalMessage, address: JournalAddress): JournalBatch {
  const version = Number(m.headers?.get(Headers.version));
  const count = Number(m.headers?.get(Headers.count));
  if (!Number.isInteger(version) || !Number.isInteger(count) || count < 1 || count > version) {
    throw new Error(`journal message #${m.seq} has bad ${Headers.version}/${Headers.count} headers`);
  }
  const { events } = splitPayload(msgpack.decode(new Uint8Array(m.data)));
  if (!Array.isArray(events) || events.length !== count) throw new Error(`journal message #${m.seq} does not hold ${count} events`);
  return { ...address, seq: m.seq, version, events, time: m.time };
}
