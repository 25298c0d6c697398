/**
 * How the fuzz of real node processes (integration/fuzz.test.ts) judges what comes back: every
 * request gets a reply with a known error code (never INTERNAL), BAD_REQUEST whenever the input
 * does not parse, and nothing forged is ever adopted or applied.
 */
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { decodeJson } from "../../src/codec/json.js";
import { ErrorCode } from "../../src/errors.js";
import { batchCodec, codec, type Sent } from "./inputs.js";

/** Longest any reply may take: a forged handoff naming a future map waits the node's handoff timeout (10 s). */
const REPLY_TIMEOUT = 20_000;

/** Error codes a client may legitimately see on each surface of a settled cluster. */
export const INGRESS_CODES = new Set<string>([
  ErrorCode.BAD_REQUEST,
  ErrorCode.UNKNOWN_ACTOR_TYPE,
  ErrorCode.REJECTED,
  ErrorCode.TIMEOUT,
  ErrorCode.OVERLOADED,
]);
/** Plus what a forged node request earns: CONFLICT (handoff of a shard not being received), UNAVAILABLE (tail ask, future map), ACTOR_MOVED (hops). */
export const RPC_CODES = new Set<string>([...INGRESS_CODES, ErrorCode.CONFLICT, ErrorCode.UNAVAILABLE, ErrorCode.ACTOR_MOVED]);

type Reply = { ok: true; reply: unknown } | { ok: false; error: { code: string; message: string } };

export interface Tally {
  sent: number;
  ok: number;
  codes: Map<string, number>;
  failures: string[];
}
export const tally = (): Tally => ({ sent: 0, ok: 0, codes: new Map(), failures: [] });
const show = (b: Uint8Array) => Buffer.from(b.subarray(0, 120)).toString("hex");

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** A node's answer to a batch of one: a reply batch holding exactly its answer, or one answer for the whole batch. */
function rpcReply(data: Uint8Array): Reply {
  const v = batchCodec.decode(data);
  if (!Array.isArray(v)) return decodeReply(data, true);
  // One entry, under the corr the node read (a corrupted input may carry another than 1).
  const [entry] = v as unknown[][];
  if (v.length !== 1 || !Array.isArray(entry) || !Number.isSafeInteger(entry[0]))
    throw new Error(`not a reply batch of one: ${JSON.stringify(v).slice(0, 200)}`);
  if (entry.length === 2) return { ok: true, reply: entry[1] } as Reply;
  if (entry.length === 3 && entry[1] === null) return { ok: false, error: entry[2] } as Reply;
  throw new Error(`not a reply entry: ${JSON.stringify(entry).slice(0, 200)}`);
}

function decodeReply(data: Uint8Array, msgpack: boolean): Reply {
  const v = (msgpack ? codec.decode(data) : decodeJson(data)) as Reply;
  if (typeof v !== "object" || v === null || typeof v.ok !== "boolean") throw new Error("not a response envelope");
  return v;
}

/** Checks one reply: known code, BAD_REQUEST whenever the input does not parse, no adoption. */
function judge(t: Tally, allowed: ReadonlySet<string>, sent: Sent, reply: Reply, parsed: { ok: boolean; kind?: string; tail?: boolean }): void {
  if (reply.ok) {
    t.ok++;
    if (!parsed.ok) t.failures.push(`accepted what does not parse: ${show(sent.bytes)}`);
    if (parsed.kind === "handoff") t.failures.push(`a forged handoff was adopted: ${show(sent.bytes)}`);
    if (parsed.tail === true) t.failures.push(`a forged tail ask was applied: ${show(sent.bytes)}`);
    return;
  }
  const code = reply.error?.code;
  t.codes.set(code, (t.codes.get(code) ?? 0) + 1);
  if (!allowed.has(code)) t.failures.push(`${code}: ${reply.error?.message} for ${show(sent.bytes)}`);
  if (typeof reply.error?.message !== "string" || reply.error.message.length === 0) t.failures.push(`an error without a message: ${JSON.stringify(reply)}`);
  if (!parsed.ok && code !== ErrorCode.BAD_REQUEST) t.failures.push(`${code} (not BAD_REQUEST) for what does not parse: ${show(sent.bytes)}`);
}

/** Sends one input and judges its reply into `t`. */
export async function request(
  nc: NatsConnection,
  subject: string,
  sent: Sent,
  t: Tally,
  allowed: ReadonlySet<string>,
  parse: () => { ok: boolean; kind?: string; tail?: boolean },
): Promise<void> {
  t.sent++;
  let h: MsgHdrs | undefined;
  if (sent.header !== undefined) {
    h = natsHeaders();
    h.set("Content-Type", sent.header);
  }
  let parsed: { ok: boolean; kind?: string; tail?: boolean };
  try {
    parsed = parse();
  } catch {
    parsed = { ok: false };
  }
  try {
    const m = await nc.request(subject, sent.bytes, { timeout: REPLY_TIMEOUT, ...(h === undefined ? {} : { headers: h }) });
    const msgpack = m.headers?.get("Content-Type") === "application/msgpack";
    // The ingress answers in the format it decoded; node requests are always MessagePack.
    const expectMsgpack = subject.endsWith(".rpc") || sent.header === "application/msgpack";
    if (!subject.endsWith(".rpc") && msgpack !== expectMsgpack) t.failures.push(`answered in the wrong format for ${show(sent.bytes)}`);
    judge(t, allowed, sent, subject.endsWith(".rpc") ? rpcReply(m.data) : decodeReply(m.data, expectMsgpack), parsed);
  } catch (err) {
    t.failures.push(`no valid reply (${String((err as Error)?.message ?? err)}) for ${show(sent.bytes)}`);
  }
}
