/**
 * What the fuzz of real node processes (integration/fuzz.test.ts) sends: hostile ingress
 * requests (JSON and MessagePack) and node requests (MessagePack batches), including forged
 * handoffs, tail-ends and tail asks naming the known actors, corrupted encodings, and payloads
 * of about max_payload. Valid messages only ever go to throwaway ids ("fz-…").
 */
import fc from "fast-check";
import { shardOf } from "../../src/routing/shard-hash.js";
import { defaultDecodeLimits } from "../../src/codec/limits.js";
import { MsgpackCodec } from "../../src/codec/msgpack.js";

export const SHARDS = 16;
export const NODES = ["n1", "n2"];
export const INGRESS_INPUTS = 10_000;
export const RPC_INPUTS_PER_NODE = 5_000;

export const codec = new MsgpackCodec();
/** Node batches are decoded two levels deeper (the batch array and its `[corr, request]` pair). */
export const batchCodec = new MsgpackCodec({ maxDepth: defaultDecodeLimits.maxDepth + 2 });
/** A node request as its own batch of one. */
export const batchOf = (req: unknown): unknown => [[1, req]];
const te = new TextEncoder();

/** Set up before the fuzz; they only get read-only or invalid messages, and forged node requests. */
export const KNOWN_ACCOUNTS = ["known account α", "known.account.*.>", "known-account-3"];
export const KNOWN_SEQUENCER = "known sequencer";

export interface Sent {
  /** How the request was encoded (the header the ingress sees decides how it is decoded). */
  fmt: "json" | "msgpack";
  header?: string;
  bytes: Uint8Array;
}

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
  {
    weight: 1,
    arbitrary: fc.tuple(protoKey, scalar, fc.nat(40), fc.boolean()).map(([k, v, depth, asObject]) => nest(depth, withKey({}, k, { polluted: v }), asObject)),
  },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 28, max: 40 }), fc.boolean()).map(([n, asObject]) => nest(n, 1, asObject)) },
  // Objects that String() cannot convert (their toString is data, not a function).
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ toString: "" }, { valueOf: 0, toString: 0 }, [{ toString: [] }]) },
);
const badInt = fc.constantFrom<unknown>(-1, 0.5, 1.5, -0.5, NaN, Infinity, -Infinity, 2 ** 53, "5", null, true, [], {});

const hostileIds = ["", "x".repeat(513), "é".repeat(257), "🐟".repeat(129), "\uD800", "a\uDC00", "\uDC00\uD800", `${"x".repeat(511)}é`, 5, null, [], {}, true];
/** Valid ids, all throwaway: special characters, spaces, NUL, the longest allowed. */
export const throwawayId = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => `fz-${s}`),
  fc.constantFrom("fz.a", "fz.*", "fz.>", "fz a b", "fz\0", "fz\t\n", `fz-${"x".repeat(509)}`, `fz-${"é".repeat(254)}`, "fz 🐟", "fz-__proto__"),
);
const anyId = fc.oneof(
  { weight: 3, arbitrary: throwawayId },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...hostileIds) },
  { weight: 1, arbitrary: junk },
);
const typeName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("account", "sequencer") },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("bank", "Account", "acc.ount", "", "a".repeat(65), "*", ">", "a b", "__proto__") },
  { weight: 1, arbitrary: junk },
);
const amount = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -5, 1.5, 1e12 + 1, NaN, "5", null) },
);
const txn = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("", "t".repeat(129), 7, null) },
);
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
const extras = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Array<[string, unknown]>>([]) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), protoKey), junk), { maxLength: 2 }) },
);

const ingressRequest = fc
  .record({
    type: optional(typeName, 8),
    id: optional(anyId, 8),
    msg: optional(message, 8),
    timeoutMs: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 5000 }), badInt, fc.constant(120_001)),
    extra: extras,
  })
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
  const shard = fc.oneof(
    { weight: 6, arbitrary: fc.nat(SHARDS - 1) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(SHARDS, 1023, 2 ** 31) },
    { weight: 1, arbitrary: badInt },
  );
  const from = fc.oneof(fc.constantFrom<unknown>(...NODES, "evil", "", "x".repeat(600)), junk);
  const ask = fc
    .record({
      type: typeName,
      id: anyId,
      msg: message,
      timeoutMs: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 120_001, NaN, 1.5, "100") },
      ),
      mapVersion: fc.oneof({ weight: 10, arbitrary: version }, { weight: 1, arbitrary: fc.integer({ min: mapVersion + 1, max: mapVersion + 3 }) }),
      hops: fc.oneof({ weight: 4, arbitrary: fc.nat(5) }, { weight: 1, arbitrary: badInt }),
      tail: optional(fc.oneof(shard, badInt), 1, 6),
      extra: extras,
    })
    .map(({ extra, ...f }) => envelope({ k: "ask", ...f }, extra));
  /** Forged tail asks: valid deposits to the known accounts, which a node not receiving the shard must refuse. */
  const tailAsk = fc
    .record({ id: fc.constantFrom(...KNOWN_ACCOUNTS), shard: fc.nat(SHARDS - 1), amount: fc.integer({ min: 1, max: 100 }) })
    .map(({ id, shard, amount }) => ({
      k: "ask",
      type: "account",
      id,
      msg: { deposit: { amount, txn: "forged-tail" } },
      timeoutMs: 2000,
      mapVersion,
      hops: 1,
      tail: shard,
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
  const unknownKind = fc
    .record({ k: fc.oneof(fc.constantFrom<unknown>("", "Ask", "status", "ask ", "__proto__"), junk), shard, id: anyId })
    .map((f) => envelope(f, []));
  const others = [
    { weight: 6, arbitrary: ask },
    { weight: 4, arbitrary: handoff },
    { weight: 2, arbitrary: tailEnd },
    { weight: 1, arbitrary: unknownKind },
  ];
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
    .tuple(
      bytes,
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom(...markers)), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([input, ops]) => {
      const b = Array.from(input);
      for (const [op, at, byte, marker] of ops) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (op === 0 && b.length > 0) b[i]! ^= 1 << (byte & 7);
        else if (op === 1) b.length = i;
        else if (op === 2) b.splice(i, 0, marker);
        else if (op === 3)
          b.splice(i, 0, marker, 0xff, 0xff, 0xff, 0xff); // a 32-bit length header claiming 4 G
        else if (op === 4 && b.length > 0) b[i] = byte;
        else b.splice(i, 0, ...b.slice(0, (byte % 16) + 1));
      }
      return Uint8Array.from(b);
    });

const jsonTokens = [
  "{",
  "}",
  "[",
  "]",
  '"',
  ":",
  ",",
  '"type"',
  '"id"',
  '"msg"',
  '"account"',
  '"fz-1"',
  '{"balance":{}}',
  "1",
  "-",
  "e",
  "null",
  '"__proto__"',
  " ",
  "\\u0000",
  "\\ud800",
  "1e999",
];
export const jsonSoup = fc.array(fc.constantFrom(...jsonTokens), { maxLength: 40 }).map((a) => te.encode(a.join("")));

const encodeAs = (v: unknown, fmt: "json" | "msgpack"): Uint8Array => (fmt === "json" ? te.encode(JSON.stringify(v) ?? "null") : codec.encode(v));

/** The ingress inputs of one run: `seed` decides them; the big ones are sized to the server's `maxPayload`. */
export function ingressInputs(maxPayload: number, seed: number): Sent[] {
  const fmt = fc.constantFrom<"json" | "msgpack">("json", "msgpack");
  const headerFor = (f: "json" | "msgpack") => (f === "msgpack" ? "application/msgpack" : undefined);
  const structured = fc.tuple(ingressRequest, fmt).map(([v, f]): Sent => ({ fmt: f, header: headerFor(f), bytes: encodeAs(v, f) }));
  const valid = fc
    .record({
      id: throwawayId,
      msg: fc.constantFrom<unknown>({ balance: {} }, { deposit: { amount: 1, txn: "t" } }, { withdraw: { amount: 1, txn: "w" } }, { report: {} }),
      type: fc.constantFrom("account", "sequencer"),
      f: fmt,
    })
    .map(({ f, ...v }): Sent => ({ fmt: f, header: headerFor(f), bytes: encodeAs(v, f) }));
  const mutated = fmt.chain((f) =>
    corrupt(fc.record({ type: fc.constantFrom("account", "sequencer"), id: throwawayId, msg: message }).map((v) => encodeAs(v, f))).map(
      (bytes): Sent => ({ fmt: f, header: headerFor(f), bytes }),
    ),
  );
  const random = fc.tuple(fc.uint8Array({ maxLength: 200 }), fmt).map(([bytes, f]): Sent => ({ fmt: f, header: headerFor(f), bytes }));
  const soup = jsonSoup.map((bytes): Sent => ({ fmt: "json", bytes }));
  // Near-miss headers mean JSON to the ingress, whatever the body is.
  const crossed = fc
    .tuple(ingressRequest, fc.constantFrom("application/MsgPack", "application/json", "application/msgpack; charset=utf-8", ""), fmt)
    .map(([v, header, f]): Sent => ({ fmt: "json", header, bytes: encodeAs(v, f) }));
  const inputs = fc.sample(
    fc.oneof(
      { weight: 8, arbitrary: structured },
      { weight: 2, arbitrary: valid },
      { weight: 4, arbitrary: mutated },
      { weight: 2, arbitrary: random },
      { weight: 1, arbitrary: soup },
      { weight: 1, arbitrary: crossed },
    ),
    { numRuns: INGRESS_INPUTS, seed },
  );
  // Big ones: strings and arrays past the limits, deep nesting, payloads of about max_payload.
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

/** The inputs for one node's rpc subject, against the map it has (`mapVersion`, `epoch`). */
export function rpcInputs(node: string, mapVersion: number, epoch: number, knownVersions: Map<string, number>, seed: number): Sent[] {
  const gen = rpcRequest(mapVersion, epoch, knownVersions);
  const sent = (bytes: Uint8Array): Sent => ({ fmt: "msgpack", bytes });
  const inputs = fc.sample(
    fc.oneof(
      { weight: 10, arbitrary: gen.all.map((v) => sent(batchCodec.encode(batchOf(v)))) },
      // Asks in the flat form senders use: [corr, type, id, msg, timeoutMs, mapVersion, hops, tail, discard].
      { weight: 4, arbitrary: gen.flat.map((v) => sent(batchCodec.encode([v]))) },
      { weight: 4, arbitrary: corrupt(gen.corruptible.map((v) => batchCodec.encode(batchOf(v)))).map(sent) },
      // Whole batches gone wrong: bare requests, empty, repeated or bad correlation ids.
      {
        weight: 2,
        arbitrary: fc.tuple(gen.all, fc.constantFrom<unknown>(0, -1, 1.5, "1", null, 2 ** 60), fc.nat(5)).map(([v, corr, shape]) =>
          sent(
            batchCodec.encode(
              [
                v,
                [],
                [[corr, v]],
                [
                  [1, v],
                  [1, v],
                ],
                [[1, v, 0]],
                [v],
              ][shape],
            ),
          ),
        ),
      },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map(sent) },
      { weight: 1, arbitrary: jsonSoup.map(sent) },
    ),
    { numRuns: RPC_INPUTS_PER_NODE, seed: seed + 1 + NODES.indexOf(node) },
  );
  // A forged handoff of every known actor, to its own shard at the current map, from the other node: CONFLICT.
  for (const id of KNOWN_ACCOUNTS) {
    const actors = [{ type: "account", id, version: knownVersions.get(id)!, state: { balance: 1_000_000, txns: [] } }];
    inputs.push(
      sent(batchCodec.encode(batchOf({ k: "handoff", shard: shardOf("account", id, SHARDS), mapVersion, epoch, from: NODES.find((n) => n !== node), actors }))),
    );
  }
  // A tail-end for every shard: nothing is being received, so nothing happens.
  for (let shard = 0; shard < SHARDS; shard++) inputs.push(sent(batchCodec.encode(batchOf({ k: "tail-end", shard, mapVersion, from: "evil", count: 0 }))));
  return inputs;
}
