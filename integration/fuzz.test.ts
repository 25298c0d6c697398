/**
 * Hostile input against real node processes (invariant 6 of DESIGN.md): tens of thousands of
 * generated requests on the ingress (`shoal.<cluster>.ask`, JSON and MessagePack) and on each
 * node's rpc subject (`shoal.<cluster>.node.<token>.rpc`, MessagePack), including forged
 * handoffs and tail-ends. Every request must get a reply with a known error code (never
 * INTERNAL), the nodes must keep running and serving, and nothing known may change: accounts
 * and a sequencer set up before the fuzz keep their state, the map stays where it was.
 *
 * Valid messages only ever go to throwaway ids ("fz-…"); the known actors only get read-only or
 * invalid messages, and forged handoffs/tail-ends/tail asks naming them.
 */
import { connect as tcpConnect } from "node:net";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { shardOf } from "../cluster/shard-hash.js";
import type { NodeStatus } from "../cluster/status.js";
import { rpcSubject } from "../src/nats-names.js";
import { parseRequestBatch } from "../cluster/batch-wire.js";
import { ShoalClient } from "../src/client.js";
import { parseRequest } from "../src/codec/envelope.js";
import { decodeJson } from "../src/codec/json.js";
import { defaultDecodeLimits } from "../src/codec/limits.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { ErrorCode } from "../src/errors.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";

const SHARDS = 16;
const NODES = ["n1", "n2"];
const IN_FLIGHT = 64;
/** Longest any reply may take: a forged handoff naming a future map waits the node's handoff timeout (10 s). */
const REPLY_TIMEOUT = 20_000;
const INGRESS_INPUTS = 10_000;
const RPC_INPUTS_PER_NODE = 5_000;

const codec = new MsgpackCodec();
/** Node batches are decoded two levels deeper (the batch array and its `[corr, request]` pair). */
const batchCodec = new MsgpackCodec({ maxDepth: defaultDecodeLimits.maxDepth + 2 });
/** A node request as its own batch of one. */
const batchOf = (req: unknown): unknown => [[1, req]];
const te = new TextEncoder();
const seed = Number(process.env.SHOAL_FUZZ_SEED ?? Date.now() % 1_000_000_007);

/** Error codes a client may legitimately see on each surface of a settled cluster. */
const INGRESS_CODES = new Set<string>([ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_ACTOR_TYPE, ErrorCode.REJECTED, ErrorCode.TIMEOUT, ErrorCode.OVERLOADED]);
/** Plus what a forged node request earns: CONFLICT (handoff of a shard not being received), UNAVAILABLE (tail ask, future map), ACTOR_MOVED (hops). */
const RPC_CODES = new Set<string>([...INGRESS_CODES, ErrorCode.CONFLICT, ErrorCode.UNAVAILABLE, ErrorCode.ACTOR_MOVED]);

const KNOWN_ACCOUNTS = ["known account α", "known.account.*.>", "known-account-3"];
const KNOWN_SEQUENCER = "known sequencer";

// ---- generators (plain values: own `__proto__` keys are made with defineProperty) ---------------

const withKey = (o: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> =>
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
const nest = (n: number, inner: unknown, asObject: boolean): unknown => {
  let v = inner;
  for (let i = 0; i < n; i++) v = asObject ? { a: v } : [v];
  return v;
};

const protoKey = fc.constantFrom("__proto__", "constructor", "prototype");
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 0.5, -0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 63), 2 ** 64),
  fc.string({ maxLength: 10 }),
  fc.uint8Array({ maxLength: 8 }),
);
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.tuple(protoKey, scalar, fc.nat(40), fc.boolean()).map(([k, v, depth, asObject]) => nest(depth, withKey({}, k, { polluted: v }), asObject)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 28, max: 40 }), fc.boolean()).map(([n, asObject]) => nest(n, 1, asObject)) },
  // Objects that String() cannot convert (their toString is data, not a function).
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ toString: "" }, { valueOf: 0, toString: 0 }, [{ toString: [] }]) },
);
const badInt = fc.constantFrom<unknown>(-1, 0.5, 1.5, -0.5, NaN, Infinity, -Infinity, 2 ** 53, "5", null, true, [], {});

const hostileIds = [
  "", "x".repeat(513), "é".repeat(257), "🐟".repeat(129), "\uD800", "a\uDC00", "\uDC00\uD800", "x".repeat(511) + "é", 5, null, [], {}, true,
];
/** Valid ids, all throwaway: special characters, spaces, NUL, the longest allowed. */
const throwawayId = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => `fz-${s}`),
  fc.constantFrom("fz.a", "fz.*", "fz.>", "fz a b", "fz\0", "fz\t\n", "fz-" + "x".repeat(509), "fz-" + "é".repeat(254), "fz 🐟", "fz-__proto__"),
);
const anyId = fc.oneof({ weight: 3, arbitrary: throwawayId }, { weight: 2, arbitrary: fc.constantFrom<unknown>(...hostileIds) }, { weight: 1, arbitrary: junk });
const typeName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("account", "sequencer") },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("bank", "Account", "acc.ount", "", "a".repeat(65), "*", ">", "a b", "__proto__") },
  { weight: 1, arbitrary: junk },
);
const amount = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 1000 }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -5, 1.5, 1e12 + 1, NaN, "5", null) });
const txn = fc.oneof({ weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>("", "t".repeat(129), 7, null) });
const message = fc.oneof(
  fc.record({ kind: fc.constantFrom("deposit", "withdraw"), amount, txn }).map(({ kind, amount, txn }) => ({ [kind]: { amount, txn } })),
  fc.constantFrom<unknown>({ balance: {} }, { balance: { x: 1 } }, { report: {} }, {}, { deposit: {} }, { deposit: 1, withdraw: 2 }),
  fc.record({ sender: fc.oneof(fc.string({ minLength: 1, maxLength: 70 }), junk), seq: fc.oneof(fc.integer({ min: 1, max: 5 }), badInt) }),
  junk,
);
const optional = <T>(a: fc.Arbitrary<T>, weight = 3, absent = 1) =>
  fc.oneof({ weight, arbitrary: a.map((v): T | undefined => v) }, { weight: absent, arbitrary: fc.constant(undefined) });
/** Drops undefined fields (an absent field) and adds extra ones sometimes. */
const envelope = (fields: Record<string, unknown>, extra: Array<[string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  for (const [k, v] of extra) withKey(out, k, v);
  return out;
};
const extras = fc.oneof({ weight: 5, arbitrary: fc.constant<Array<[string, unknown]>>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), protoKey), junk), { maxLength: 2 }) });

const ingressRequest = fc
  .record({ type: optional(typeName, 8), id: optional(anyId, 8), msg: optional(message, 8), timeoutMs: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 5000 }), badInt, fc.constant(120_001)), extra: extras })
  .map(({ extra, ...f }) => envelope(f, extra));

/** A node request of any kind; `mapVersion` is the settled map's, so valid ones never wait long. */
const rpcRequest = (mapVersion: number, epoch: number, knownVersions: Map<string, number>) => {
  const version = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: mapVersion }) }, { weight: 1, arbitrary: badInt });
  const forgedActor = fc.oneof(
    fc.constantFrom(...KNOWN_ACCOUNTS).map((id) => ({ type: "account", id, version: knownVersions.get(id)!, state: { balance: 1_000_000, txns: ["forged"] } })),
    fc.constant({ type: "sequencer", id: KNOWN_SEQUENCER, version: 0, state: { senders: [["s", 999]], violations: [], violationCount: 0 } }),
    fc.record({ type: typeName, id: anyId, version: fc.oneof(fc.nat(5), badInt), state: junk }),
    junk,
  );
  const shard = fc.oneof({ weight: 6, arbitrary: fc.nat(SHARDS - 1) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(SHARDS, 1023, 2 ** 31) }, { weight: 1, arbitrary: badInt });
  const from = fc.oneof(fc.constantFrom<unknown>(...NODES, "evil", "", "x".repeat(600)), junk);
  const ask = fc
    .record({
      type: typeName,
      id: anyId,
      msg: message,
      timeoutMs: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 120_001, NaN, 1.5, "100") }),
      mapVersion: fc.oneof({ weight: 10, arbitrary: version }, { weight: 1, arbitrary: fc.integer({ min: mapVersion + 1, max: mapVersion + 3 }) }),
      hops: fc.oneof({ weight: 4, arbitrary: fc.nat(5) }, { weight: 1, arbitrary: badInt }),
      tail: optional(fc.oneof(shard, badInt), 1, 6),
      extra: extras,
    })
    .map(({ extra, ...f }) => envelope({ k: "ask", ...f }, extra));
  /** Forged tail asks: valid deposits to the known accounts, which a node not receiving the shard must refuse. */
  const tailAsk = fc.record({ id: fc.constantFrom(...KNOWN_ACCOUNTS), shard: fc.nat(SHARDS - 1), amount: fc.integer({ min: 1, max: 100 }) }).map(({ id, shard, amount }) => ({
    k: "ask", type: "account", id, msg: { deposit: { amount, txn: "forged-tail" } }, timeoutMs: 2000, mapVersion, hops: 1, tail: shard,
  }));
  const handoff = fc
    .record({
      shard,
      mapVersion: version,
      epoch: fc.oneof(fc.constant(epoch), fc.nat(5), badInt),
      from,
      actors: fc.oneof({ weight: 5, arbitrary: fc.array(forgedActor, { maxLength: 4 }) }, { weight: 1, arbitrary: junk }),
      extra: extras,
    })
    .map(({ extra, ...f }) => envelope({ k: "handoff", ...f }, extra));
  const tailEnd = fc
    .record({ shard, mapVersion: version, from, count: fc.oneof(fc.nat(5), badInt), extra: extras })
    .map(({ extra, ...f }) => envelope({ k: "tail-end", ...f }, extra));
  const unknownKind = fc.record({ k: fc.oneof(fc.constantFrom<unknown>("", "Ask", "status", "ask ", "__proto__"), junk), shard, id: anyId }).map((f) => envelope(f, []));
  const others = [{ weight: 6, arbitrary: ask }, { weight: 4, arbitrary: handoff }, { weight: 2, arbitrary: tailEnd }, { weight: 1, arbitrary: unknownKind }];
  /** Asks (and forged tail asks) as batch entries in the flat form, with a bad `discard` now and then. */
  const discard = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>(0, 1) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(2, true, null, "1") });
  const flat = fc.tuple(fc.oneof({ weight: 4, arbitrary: ask }, { weight: 1, arbitrary: tailAsk }), discard, fc.nat({ max: 1000 })).map(([a, d, corr]) => {
    const v = a as Record<string, unknown>;
    return [corr + 1, v.type, v.id, v.msg, v.timeoutMs, v.mapVersion, v.hops, v.tail ?? null, d];
  });
  return {
    flat,
    all: fc.oneof({ weight: 1, arbitrary: tailAsk }, ...others),
    /**
     * What may be corrupted: not the forged tail asks. A flipped bit in their "tail" key makes an
     * ordinary forwarded ask of them (parseRpc ignores extra fields), and a forwarded deposit is
     * applied by design — a valid message to a known account, which this test never sends.
     */
    corruptible: fc.oneof(...others),
  };
};

const markers = [0xc0, 0xc1, 0xc4, 0xc6, 0xc9, 0xcb, 0xcf, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xff];
/** Corrupts an encoding: flips, truncation, inserted markers or inflated length headers, overwrites. */
const corrupt = (bytes: fc.Arbitrary<Uint8Array>) =>
  fc
    .tuple(bytes, fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom(...markers)), { minLength: 1, maxLength: 3 }))
    .map(([input, ops]) => {
      const b = Array.from(input);
      for (const [op, at, byte, marker] of ops) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (op === 0 && b.length > 0) b[i]! ^= 1 << (byte & 7);
        else if (op === 1) b.length = i;
        else if (op === 2) b.splice(i, 0, marker);
        else if (op === 3) b.splice(i, 0, marker, 0xff, 0xff, 0xff, 0xff); // a 32-bit length header claiming 4 G
        else if (op === 4 && b.length > 0) b[i] = byte;
        else b.splice(i, 0, ...b.slice(0, (byte % 16) + 1));
      }
      return Uint8Array.from(b);
    });

const jsonTokens = ["{", "}", "[", "]", '"', ":", ",", '"type"', '"id"', '"msg"', '"account"', '"fz-1"', '{"balance":{}}', "1", "-", "e", "null", '"__proto__"', " ", "\\u0000", "\\ud800", "1e999"];
const jsonSoup = fc.array(fc.constantFrom(...jsonTokens), { maxLength: 40 }).map((a) => te.encode(a.join("")));

// ---- the harness ----------------------------------------------------------------------------

interface Sent {
  /** How the request was encoded (the header the ingress sees decides how it is decoded). */
  fmt: "json" | "msgpack";
  header?: string;
  bytes: Uint8Array;
}

type Reply = { ok: true; reply: unknown } | { ok: false; error: { code: string; message: string } };

interface Tally {
  sent: number;
  ok: number;
  codes: Map<string, number>;
  failures: string[];
}
const tally = (): Tally => ({ sent: 0, ok: 0, codes: new Map(), failures: [] });
const show = (b: Uint8Array) => Buffer.from(b.subarray(0, 120)).toString("hex");

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

let c: TestCluster;
let client: ShoalClient;
let before: { accounts: Map<string, unknown>; sequencer: unknown; statuses: Array<Pick<NodeStatus, "node" | "mapVersion" | "shards" | "leader">> };
const knownVersions = new Map<string, number>();
const started = Date.now();
const counts = { ingress: 0, rpc: new Map<string, number>() };

async function knownState() {
  const accounts = new Map<string, unknown>();
  for (const id of KNOWN_ACCOUNTS) {
    const { balance, version } = await client.ask<{ balance: number; version: number }>("account", id, { balance: {} });
    accounts.set(id, { balance, version });
  }
  const { senders, violations, violationCount } = await client.ask<Record<string, unknown>>("sequencer", KNOWN_SEQUENCER, { report: {} });
  return { accounts, sequencer: { senders, violations, violationCount } };
}

/** A node's answer to a batch of one: a reply batch holding exactly its answer, or one answer for the whole batch. */
function rpcReply(data: Uint8Array): Reply {
  const v = batchCodec.decode(data);
  if (!Array.isArray(v)) return decodeReply(data, true);
  // One entry, under the corr the node read (a corrupted input may carry another than 1).
  const [entry] = v as unknown[][];
  if (v.length !== 1 || !Array.isArray(entry) || !Number.isSafeInteger(entry[0])) throw new Error(`not a reply batch of one: ${JSON.stringify(v).slice(0, 200)}`);
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

async function request(subject: string, sent: Sent, t: Tally, allowed: ReadonlySet<string>, parse: () => { ok: boolean; kind?: string; tail?: boolean }): Promise<void> {
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
    const m = await c.nc.request(subject, sent.bytes, { timeout: REPLY_TIMEOUT, ...(h === undefined ? {} : { headers: h }) });
    const msgpack = m.headers?.get("Content-Type") === "application/msgpack";
    // The ingress answers in the format it decoded; node requests are always MessagePack.
    const expectMsgpack = subject.endsWith(".rpc") || sent.header === "application/msgpack";
    if (!subject.endsWith(".rpc") && msgpack !== expectMsgpack) t.failures.push(`answered in the wrong format for ${show(sent.bytes)}`);
    judge(t, allowed, sent, subject.endsWith(".rpc") ? rpcReply(m.data) : decodeReply(m.data, expectMsgpack), parsed);
  } catch (err) {
    t.failures.push(`no valid reply (${String((err as Error)?.message ?? err)}) for ${show(sent.bytes)}`);
  }
}

const encodeAs = (v: unknown, fmt: "json" | "msgpack"): Uint8Array => (fmt === "json" ? te.encode(JSON.stringify(v) ?? "null") : codec.encode(v));

beforeAll(async () => {
  c = await TestCluster.create(inject("natsUrl"), uniqueCluster("fuzz"), { shards: SHARDS });
  for (const id of NODES) c.start(id);
  await c.waitStable(NODES, 30_000);
  client = new ShoalClient(c.nc, c.name);
  for (const [i, id] of KNOWN_ACCOUNTS.entries()) {
    for (let n = 0; n <= i; n++) await client.ask("account", id, { deposit: { amount: 10 * (i + 1), txn: `setup-${n}` } });
  }
  for (let seq = 1; seq <= 3; seq++) await client.ask("sequencer", KNOWN_SEQUENCER, { sender: "s", seq });
  const known = await knownState();
  for (const [id, s] of known.accounts) knownVersions.set(id, (s as { version: number }).version);
  const statuses = (await c.statuses(NODES)).map(({ node, mapVersion, shards, leader }) => ({ node, mapVersion, shards, leader }));
  before = { ...known, statuses };
  console.log(`fuzz seed ${seed} (SHOAL_FUZZ_SEED=${seed} reproduces the inputs)`);
}, 90_000);

afterAll(async () => {
  console.log(`fuzz: ${counts.ingress} ingress requests, ${[...counts.rpc].map(([n, k]) => `${k} to ${n}'s rpc`).join(", ")} — ${((Date.now() - started) / 1000).toFixed(1)} s with the cluster's start`);
  await c?.close();
});

function ingressInputs(): Sent[] {
  const fmt = fc.constantFrom<"json" | "msgpack">("json", "msgpack");
  const headerFor = (f: "json" | "msgpack") => (f === "msgpack" ? "application/msgpack" : undefined);
  const structured = fc.tuple(ingressRequest, fmt).map(([v, f]): Sent => ({ fmt: f, header: headerFor(f), bytes: encodeAs(v, f) }));
  const valid = fc
    .record({ id: throwawayId, msg: fc.constantFrom<unknown>({ balance: {} }, { deposit: { amount: 1, txn: "t" } }, { withdraw: { amount: 1, txn: "w" } }, { report: {} }), type: fc.constantFrom("account", "sequencer"), f: fmt })
    .map(({ f, ...v }): Sent => ({ fmt: f, header: headerFor(f), bytes: encodeAs(v, f) }));
  const mutated = fmt.chain((f) =>
    corrupt(fc.record({ type: fc.constantFrom("account", "sequencer"), id: throwawayId, msg: message }).map((v) => encodeAs(v, f))).map((bytes): Sent => ({ fmt: f, header: headerFor(f), bytes })),
  );
  const random = fc.tuple(fc.uint8Array({ maxLength: 200 }), fmt).map(([bytes, f]): Sent => ({ fmt: f, header: headerFor(f), bytes }));
  const soup = jsonSoup.map((bytes): Sent => ({ fmt: "json", bytes }));
  // Near-miss headers mean JSON to the ingress, whatever the body is.
  const crossed = fc
    .tuple(ingressRequest, fc.constantFrom("application/MsgPack", "application/json", "application/msgpack; charset=utf-8", ""), fmt)
    .map(([v, header, f]): Sent => ({ fmt: "json", header, bytes: encodeAs(v, f) }));
  const inputs = fc.sample(
    fc.oneof({ weight: 8, arbitrary: structured }, { weight: 2, arbitrary: valid }, { weight: 4, arbitrary: mutated }, { weight: 2, arbitrary: random }, { weight: 1, arbitrary: soup }, { weight: 1, arbitrary: crossed }),
    { numRuns: INGRESS_INPUTS, seed },
  );
  // Big ones: strings and arrays past the limits, deep nesting, payloads of about max_payload.
  const maxPayload = c.nc.info!.max_payload;
  for (const f of ["json", "msgpack"] as const) {
    inputs.push({ fmt: f, header: headerFor(f), bytes: encodeAs({ type: "account", id: "fz-big", msg: { s: "x".repeat(256 * 1024 + 1) } }, f) });
    inputs.push({ fmt: f, header: headerFor(f), bytes: encodeAs({ type: "account", id: "fz-big", msg: new Array(100_001).fill(0) }, f) });
  }
  const deep = codec.encode({ type: "account", id: "fz-deep", msg: 0 });
  inputs.push({ fmt: "msgpack", header: "application/msgpack", bytes: Uint8Array.from([...deep.subarray(0, -1), ...new Uint8Array(5000).fill(0x91), 1]) });
  inputs.push({ fmt: "json", bytes: te.encode(`{"type":"account","id":"fz-deep","msg":${"[".repeat(5000)}1${"]".repeat(5000)}}`) });
  inputs.push({ fmt: "json", bytes: te.encode("[".repeat(maxPayload)) });
  inputs.push({ fmt: "msgpack", header: "application/msgpack", bytes: new Uint8Array(maxPayload - 100).fill(0x91) });
  inputs.push({ fmt: "json", bytes: te.encode(`{"type":"account","id":"fz-max","msg":"${"x".repeat(maxPayload - 44)}"}`) });
  return inputs;
}

function rpcInputs(node: string, mapVersion: number, epoch: number): Sent[] {
  const gen = rpcRequest(mapVersion, epoch, knownVersions);
  const sent = (bytes: Uint8Array): Sent => ({ fmt: "msgpack", bytes });
  const inputs = fc.sample(
    fc.oneof(
      { weight: 10, arbitrary: gen.all.map((v) => sent(batchCodec.encode(batchOf(v)))) },
      // Asks in the flat form senders use: [corr, type, id, msg, timeoutMs, mapVersion, hops, tail, discard].
      { weight: 4, arbitrary: gen.flat.map((v) => sent(batchCodec.encode([v]))) },
      { weight: 4, arbitrary: corrupt(gen.corruptible.map((v) => batchCodec.encode(batchOf(v)))).map(sent) },
      // Whole batches gone wrong: bare requests, empty, repeated or bad correlation ids.
      { weight: 2, arbitrary: fc.tuple(gen.all, fc.constantFrom<unknown>(0, -1, 1.5, "1", null, 2 ** 60), fc.nat(5)).map(([v, corr, shape]) => sent(batchCodec.encode([v, [], [[corr, v]], [[1, v], [1, v]], [[1, v, 0]], [v]][shape]))) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map(sent) },
      { weight: 1, arbitrary: jsonSoup.map(sent) },
    ),
    { numRuns: RPC_INPUTS_PER_NODE, seed: seed + 1 + NODES.indexOf(node) },
  );
  // A forged handoff of every known actor, to its own shard at the current map, from the other node: CONFLICT.
  for (const id of KNOWN_ACCOUNTS) {
    const actors = [{ type: "account", id, version: knownVersions.get(id)!, state: { balance: 1_000_000, txns: [] } }];
    inputs.push(sent(batchCodec.encode(batchOf({ k: "handoff", shard: shardOf("account", id, SHARDS), mapVersion, epoch, from: NODES.find((n) => n !== node), actors }))));
  }
  // A tail-end for every shard: nothing is being received, so nothing happens.
  for (let shard = 0; shard < SHARDS; shard++) inputs.push(sent(batchCodec.encode(batchOf({ k: "tail-end", shard, mapVersion, from: "evil", count: 0 }))));
  return inputs;
}

describe("hostile input against real node processes", () => {
  it("every hostile request on the ingress and on each node's rpc subject gets a reply with a known code", async () => {
    const status = new Map((await c.statuses(NODES)).map((s) => [s.node, s]));
    const ingress = { subject: `shoal.${c.name}.ask`, inputs: ingressInputs(), t: tally() };
    const peers = NODES.map((node) => {
      const { mapVersion, mapEpoch } = status.get(node)!;
      return { node, subject: rpcSubject(c.name, node), inputs: rpcInputs(node, mapVersion ?? 0, mapEpoch ?? 0), t: tally(), mapVersion: mapVersion ?? 0, epoch: mapEpoch ?? 0 };
    });
    const rpcParse = (s: Sent) => () => {
      const [item] = parseRequestBatch(batchCodec.decode(s.bytes));
      if (item === undefined || "error" in item) return { ok: false };
      return { ok: true, kind: item.req.k, tail: item.req.k === "ask" && item.req.tail !== undefined };
    };
    // Forged handoffs naming a map the node has not seen wait for it (the handoff timeout, 10 s),
    // then CONFLICT: a few, outside the pools, so they do not hold their slots.
    const slow = peers.flatMap((p) =>
      KNOWN_ACCOUNTS.slice(0, 2).map((id) => {
        const actors = [{ type: "account", id, version: knownVersions.get(id)!, state: { balance: 1, txns: [] } }];
        const s: Sent = { fmt: "msgpack", bytes: batchCodec.encode(batchOf({ k: "handoff", shard: shardOf("account", id, SHARDS), mapVersion: p.mapVersion + 1, epoch: p.epoch + 1, from: "evil", actors })) };
        return request(p.subject, s, p.t, RPC_CODES, rpcParse(s));
      }),
    );
    // Everything at once, at most IN_FLIGHT in flight: half on the ingress, half on the nodes.
    const fuzzStarted = Date.now();
    await Promise.all([
      pool(ingress.inputs, IN_FLIGHT / 2, (s) =>
        request(ingress.subject, s, ingress.t, INGRESS_CODES, () => {
          parseRequest(s.fmt === "msgpack" ? codec.decode(s.bytes) : decodeJson(s.bytes));
          return { ok: true };
        }),
      ),
      ...peers.map((p) => pool(p.inputs, IN_FLIGHT / 2 / peers.length, (s) => request(p.subject, s, p.t, RPC_CODES, rpcParse(s)))),
      ...slow,
    ]);

    counts.ingress = ingress.t.sent;
    console.log(`fuzz phase: ${((Date.now() - fuzzStarted) / 1000).toFixed(1)} s`);
    console.log(`ingress: ${ingress.t.sent} requests, ${ingress.t.ok} ok, errors ${JSON.stringify(Object.fromEntries(ingress.t.codes))}`);
    for (const p of peers) {
      counts.rpc.set(p.node, p.t.sent);
      console.log(`${p.node} rpc: ${p.t.sent} requests, ${p.t.ok} ok, errors ${JSON.stringify(Object.fromEntries(p.t.codes))}`);
    }
    expect(ingress.t.failures.slice(0, 10), "ingress").toEqual([]);
    expect(ingress.t.sent).toBeGreaterThanOrEqual(INGRESS_INPUTS);
    expect(ingress.t.codes.get(ErrorCode.BAD_REQUEST) ?? 0).toBeGreaterThan(INGRESS_INPUTS / 3);
    expect(ingress.t.ok).toBeGreaterThan(0);
    for (const p of peers) {
      expect(p.t.failures.slice(0, 10), `${p.node} rpc`).toEqual([]);
      expect(p.t.sent).toBeGreaterThanOrEqual(RPC_INPUTS_PER_NODE);
      expect(p.t.codes.get(ErrorCode.CONFLICT) ?? 0).toBeGreaterThanOrEqual(KNOWN_ACCOUNTS.length + 2);
    }
  });

  it("requests without a reply subject are dropped, not fatal", async () => {
    const subject = `shoal.${c.name}.ask`;
    for (const bytes of fc.sample(fc.oneof(fc.uint8Array({ maxLength: 100 }), jsonSoup), { numRuns: 300, seed })) {
      c.nc.publish(subject, bytes);
      for (const id of NODES) c.nc.publish(rpcSubject(c.name, id), bytes);
    }
    await c.nc.flush();
    expect(await client.ask("account", "fz-after-publish", { balance: {} })).toMatchObject({ balance: 0 });
  });

  it("payloads over the server's max_payload are refused by NATS itself", async () => {
    const maxPayload = c.nc.info!.max_payload;
    const subject = `shoal.${c.name}.ask`;
    // The client refuses to send them.
    for (const s of [subject, rpcSubject(c.name, NODES[0]!)]) {
      const err = await Promise.resolve()
        .then(() => c.nc.request(s, new Uint8Array(maxPayload + 1), { timeout: 5000 }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(String((err as Error)?.message)).toMatch(/max_payload/i);
    }
    // A raw client that announces one anyway is cut off by the server before sending the body.
    const url = new URL(inject("natsUrl"));
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      const sock = tcpConnect(Number(url.port || 4222), url.hostname, () => {
        sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\nPUB ${subject} _INBOX.raw ${maxPayload + 1}\r\n`);
      });
      const timer = setTimeout(() => sock.destroy(), 5000);
      sock.on("data", (d: Buffer) => (text += d.toString()));
      sock.on("error", () => undefined);
      sock.on("close", () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    expect(answer).toMatch(/-ERR 'Maximum Payload/i);
  });

  it("leaves the nodes running and serving, and every known actor and the map as they were", async () => {
    for (const id of NODES) {
      const p = c.nodes.get(id)!;
      expect(p.child.exitCode, `${id} exited:\n${p.logs.slice(-2000)}`).toBeNull();
      expect(p.running).toBe(true);
      // Each node still answers an ordinary forwarded ask on its own rpc subject.
      const m = await c.nc.request(rpcSubject(c.name, id), codec.encode(batchOf({ k: "ask", type: "account", id: "fz-final", msg: { balance: {} }, timeoutMs: 5000, mapVersion: 0, hops: 0 })), { timeout: 10_000 });
      expect(codec.decode(m.data)).toMatchObject([[1, { balance: 0, version: 0 }]]);
    }
    expect(await client.ask("account", "fz-final-ingress", { deposit: { amount: 3, txn: "t" } })).toMatchObject({ balance: 3, version: 1, applied: true });

    const after = await knownState();
    expect(after.accounts).toEqual(before.accounts);
    expect(after.sequencer).toEqual(before.sequencer);
    const statuses = (await c.statuses(NODES)).map(({ node, mapVersion, shards, leader, migrations }) => ({ node, mapVersion, shards, leader, migrations }));
    expect(statuses).toEqual(before.statuses.map((s) => ({ ...s, migrations: 0 })));

    for (const id of NODES) {
      const bad = c.nodes
        .get(id)!
        .logs.split("\n")
        .filter((l) => /uncaught|unhandled|TypeError|RangeError|fatal|"level":(50|60)|failed unexpectedly/i.test(l));
      expect(bad.slice(0, 5), `${id} logged errors`).toEqual([]);
    }
  });
});
