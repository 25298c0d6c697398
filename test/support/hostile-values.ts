/**
 * Generators of hostile values for the decoder fuzz: scalars of every kind, prototype keys at any
 * depth, nesting near and past the limits, hostile ids and kinds, and ingress and node envelopes
 * whose every field is valid or hostile; plus valid envelopes, the starting points of mutations.
 */
import fc from "fast-check";
import { MAX_ACTOR_ID_BYTES } from "../../src/actor/names.js";
import { MAX_TIMEOUT_MS } from "../../src/codec/envelope.js";
import { forbiddenKeys } from "../../src/codec/limits.js";
import { validId } from "./decoder-oracle.js";
import { ABSENT, Ext, type Field, Num, Obj, obj, type V } from "./wire-values.js";

const protoKeys = ["__proto__", "constructor", "prototype"] as const;
const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(...protoKeys, "toString", "hasOwnProperty", "__defineGetter__", "valueOf", "") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 30, maxLength: 45 }) },
);
const numTokens = ["1e400", "-1e400", "-0", "1.5", "1e-400", "9007199254740993", "1E2", "0.0", "-1", "1e3", "4294967296"];
const scalarArb: fc.Arbitrary<V> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, Number.MAX_VALUE, Number.EPSILON, NaN, Infinity, -Infinity, -0),
  fc.constantFrom(...numTokens).map((t) => new Num(t)),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", minLength: 30, maxLength: 45 }),
  fc.uint8Array({ maxLength: 45 }),
  fc.tuple(fc.integer({ min: 0, max: 127 }), fc.uint8Array({ maxLength: 20 })).map(([t, d]) => new Ext(t, d)),
);
/** Arbitrary values (objects may hold prototype keys), containers of up to `maxLength` entries. */
const valuesUpTo = (maxLength: number): fc.Arbitrary<V> =>
  fc.letrec<{ value: V; array: V[]; object: Obj }>((tie) => ({
    value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalarArb, tie("array"), tie("object")),
    array: fc.array(tie("value"), { maxLength }),
    object: fc.uniqueArray(fc.tuple(keyArb, tie("value")), { selector: (e) => e[0], maxLength }).map((e) => new Obj(e)),
  })).value;
/** Sizes around the small limits below. */
const valueArb = valuesUpTo(14);
/** Small values for the fields of envelopes (cheap to generate and to decode). */
const smallValueArb = valuesUpTo(3);
/** Values every decoder accepts under the default limits: no prototype keys, shallow. */
const cleanValueArb: fc.Arbitrary<V> = fc.jsonValue({ maxDepth: 4 }).map(function toV(j: unknown): V {
  if (Array.isArray(j)) return j.map(toV);
  if (typeof j === "object" && j !== null)
    return new Obj(
      Object.entries(j)
        .filter(([k]) => !forbiddenKeys.has(k))
        .map(([k, x]) => [k, toV(x)] as const),
    );
  return j as V;
});
/** A value wrapped `n` levels deep in arrays and/or objects (nesting near and past maxDepth). */
const nestedArb: fc.Arbitrary<V> = fc
  .tuple(fc.integer({ min: 0, max: 40 }), smallValueArb, fc.array(fc.constantFrom("array", "object", "proto"), { minLength: 1, maxLength: 4 }))
  .map(([n, inner, shapes]) => {
    let v = inner;
    for (let i = 0; i < n; i++) {
      const shape = shapes[i % shapes.length];
      v = shape === "array" ? [v] : new Obj([[shape === "proto" && i === n - 1 ? "__proto__" : "a", v]]);
    }
    return v;
  });
export const anyValue = fc.oneof({ weight: 4, arbitrary: valueArb }, { weight: 1, arbitrary: nestedArb });
const fieldValue = fc.oneof({ weight: 4, arbitrary: smallValueArb }, { weight: 1, arbitrary: nestedArb });

/** Wrong types for any field: scalars of every kind, small containers, prototype keys. */
const junk: fc.Arbitrary<V> = fc.oneof({ weight: 3, arbitrary: scalarArb }, { weight: 1, arbitrary: smallValueArb });
/** Integers fields: valid, and negative/NaN/Infinity/float/unsafe/strings. */
const intField = (max: number): fc.Arbitrary<V> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max }) },
    { weight: 2, arbitrary: fc.constantFrom(-1, 0, 1, max, max + 1, 0.5, 1.5, -0, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 - 1, -(2 ** 53)) },
    { weight: 1, arbitrary: fc.constantFrom(...numTokens).map((t) => new Num(t)) },
    { weight: 1, arbitrary: fc.constantFrom<V>("5", null, true, [], new Obj([]), new Uint8Array(1)) },
  );
const optional = <T extends V>(a: fc.Arbitrary<T>): fc.Arbitrary<Field> => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: fc.constant(ABSENT) });

const hostileIds = [
  "",
  ".",
  "*",
  ">",
  "a.b",
  "a.*.>",
  " ",
  "a b",
  "\t",
  "\n",
  "\0",
  "a\0b",
  "\u2028",
  "\uFEFF",
  "__proto__",
  "constructor",
  "x".repeat(MAX_ACTOR_ID_BYTES),
  "x".repeat(MAX_ACTOR_ID_BYTES + 1),
  "é".repeat(256),
  "é".repeat(257),
  "🐟".repeat(128),
  "🐟".repeat(129),
  `${"x".repeat(MAX_ACTOR_ID_BYTES - 1)}é`,
  "\uD800",
  "a\uDC00",
  "\uDC00\uD800",
  "\uD83D\uDC1F",
  "x".repeat(5000),
];
const idArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...hostileIds),
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(".", "*", ">", " ", "\0", "a", "é", "🐟", "\uD800", "\uDC00"), maxLength: 20 }),
  fc.string({ unit: fc.constantFrom("x", "é", "🐟"), minLength: 120, maxLength: 520 }),
);
const validIdArb = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).filter(validId);
const typeArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("account", "sequencer") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "Account",
      "acc.ount",
      "a".repeat(64),
      "a".repeat(65),
      "1abc",
      "a b",
      "*",
      ">",
      "__proto__",
      "bank",
      "account\0",
      "_x",
      "x-y_z",
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,66}$/) },
  { weight: 1, arbitrary: junk },
);
const accountMsg: fc.Arbitrary<V> = fc.oneof(
  fc
    .record({
      kind: fc.constantFrom("deposit", "withdraw", "Deposit", "__proto__"),
      amount: intField(1e12),
      txn: fc.oneof(fc.string({ maxLength: 130 }), junk),
    })
    .map(
      ({ kind, amount, txn }) =>
        new Obj([
          [
            kind,
            new Obj([
              ["amount", amount],
              ["txn", txn],
            ]),
          ],
        ]),
    ),
  fc.constantFrom<V>(new Obj([["balance", new Obj([])]]), new Obj([["balance", new Obj([["x", 1]])]]), new Obj([["balance", null]])),
);
const sequencerMsg: fc.Arbitrary<V> = fc.oneof(
  fc.record({ sender: fc.oneof(fc.string({ maxLength: 70 }), junk), seq: intField(1e6) }).map(
    ({ sender, seq }) =>
      new Obj([
        ["sender", sender],
        ["seq", seq],
      ]),
  ),
  fc.constant<V>(new Obj([["report", new Obj([])]])),
);
const msgArb = fc.oneof(accountMsg, sequencerMsg, fieldValue);
const cleanAccountMsg: fc.Arbitrary<V> = fc.oneof(
  fc.record({ kind: fc.constantFrom("deposit", "withdraw"), amount: fc.integer({ min: 1, max: 1e12 }), txn: fc.string({ minLength: 1, maxLength: 128 }) }).map(
    ({ kind, amount, txn }) =>
      new Obj([
        [
          kind,
          new Obj([
            ["amount", amount],
            ["txn", txn],
          ]),
        ],
      ]),
  ),
  fc.constant<V>(new Obj([["balance", new Obj([])]])),
);
const cleanMsgArb = fc.oneof(
  cleanAccountMsg,
  fc.constant<V>(
    new Obj([
      ["sender", "s"],
      ["seq", 1],
    ]),
  ),
  cleanValueArb,
);
const extraArb = fc.array(fc.tuple(fc.oneof(keyArb, fc.constantFrom("k", "type", "extra", "tail")), fieldValue), { maxLength: 2 });

/** Sender ids: valid (1–64 printable ASCII), and empty, too long, spaces, non-ASCII, wrong types. */
const senderArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(..."abcXYZ019-_.~!{}"), minLength: 1, maxLength: 64 }) },
  { weight: 2, arbitrary: fc.constantFrom("", "a".repeat(64), "a".repeat(65), "has space", "tab\t", "é", "\u007f", "null\0") },
  { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
  { weight: 1, arbitrary: junk },
);
/** Absent (mostly), or valid or hostile: requests with neither, both or one of sender and seq. */
const rarely = (a: fc.Arbitrary<V>): fc.Arbitrary<Field> => fc.oneof({ weight: 2, arbitrary: fc.constant(ABSENT) }, { weight: 1, arbitrary: a });

/** Ingress requests, each field valid or hostile. */
export const requestArb: fc.Arbitrary<V> = fc
  .record({
    type: optional(typeArb),
    id: optional(fc.oneof({ weight: 3, arbitrary: idArb }, { weight: 1, arbitrary: junk })),
    msg: optional(msgArb),
    timeoutMs: fc.oneof(fc.constant(ABSENT), intField(MAX_TIMEOUT_MS)),
    sender: rarely(senderArb),
    seq: rarely(intField(1e6)),
    settled: rarely(intField(1e6)),
    extra: fc.option(extraArb),
  })
  .map(({ extra, ...f }) => obj(f, extra ?? []));

const kindArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("ask", "handoff", "tail-end") },
  { weight: 1, arbitrary: fc.constantFrom("", "Ask", "ask ", "handoff\0", "tail_end", "__proto__", "status", "rpc") },
  { weight: 1, arbitrary: junk },
);
/** A handed-over timer `{name, in, every?, msg}`, each field valid or hostile (names near the 200 limit, delays near 2³¹−1). */
const timerArb: fc.Arbitrary<V> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        name: optional(fc.oneof(fc.constantFrom("tick", "", "x".repeat(200), "x".repeat(201), "é"), junk)),
        in: optional(fc.oneof(intField(5000), fc.constantFrom(2 ** 31 - 1, 2 ** 31))),
        every: rarely(fc.oneof(intField(5000), fc.constantFrom(0, 2 ** 31 - 1, 2 ** 31))),
        msg: optional(fieldValue),
      })
      .map((f) => obj(f)),
  },
  { weight: 1, arbitrary: junk },
);
/** An outgoing message's origin `[type, id, v, i]`, each item valid or hostile. */
const originArb: fc.Arbitrary<V> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(typeArb, idArb, intField(1000), intField(10)) },
  { weight: 1, arbitrary: fc.array(junk, { maxLength: 5 }) },
  { weight: 1, arbitrary: junk },
);
/** A message between actors' `{o?: origin, c?: chain}`, valid or hostile (chains around the 16 limit). */
const fromArb: fc.Arbitrary<V> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        o: rarely(originArb),
        c: rarely(
          fc.oneof(
            fc.array(fc.tuple(typeArb, idArb), { maxLength: 3 }),
            fc.constantFrom(16, 17).map((n) => Array.from({ length: n }, (_, i): V => ["t", `a${i}`])),
            junk,
          ),
        ),
      })
      .map((f) => obj(f)),
  },
  { weight: 1, arbitrary: junk },
);
/** A handed actor's mail `{a, p?, s?}`, valid or hostile. */
const mailArb: fc.Arbitrary<V> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        a: optional(intField(100)),
        p: rarely(
          fc.array(
            fc.oneof(
              fc.tuple(typeArb, idArb, fieldValue, fc.constantFrom<V>(0, 1, 2, true), intField(100), intField(5)),
              // a message shared with an earlier entry (or a hostile reference)
              fc.tuple(typeArb, idArb, fc.constantFrom<V>(null, 1), fc.constantFrom<V>(0, 1), intField(100), intField(5), intField(2)),
            ),
            { maxLength: 3 },
          ),
        ),
        s: rarely(fc.array(originArb, { maxLength: 2 })),
      })
      .map((f) => obj(f)),
  },
  { weight: 1, arbitrary: junk },
);
const handoffActorArb: fc.Arbitrary<V> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        type: optional(typeArb),
        id: optional(idArb),
        version: optional(intField(1000)),
        state: optional(fieldValue),
        order: rarely(fc.oneof(fc.array(fc.tuple(senderArb, intField(1e6)), { maxLength: 3 }), junk)),
        timers: rarely(fc.oneof({ weight: 3, arbitrary: fc.array(timerArb, { maxLength: 3 }) }, { weight: 1, arbitrary: junk })),
        mail: rarely(mailArb),
      })
      .map((f) => obj(f)),
  },
  { weight: 1, arbitrary: junk },
);
/** Node requests of every kind, each field valid or hostile. */
export const rpcArb: fc.Arbitrary<V> = fc
  .record({
    k: optional(kindArb),
    type: optional(typeArb),
    id: optional(idArb),
    msg: optional(msgArb),
    timeoutMs: optional(intField(MAX_TIMEOUT_MS)),
    mapVersion: optional(intField(100)),
    hops: optional(intField(5)),
    tail: fc.oneof(fc.constant(ABSENT), intField(1023)),
    order: rarely(
      fc.oneof(
        fc.record({ sender: optional(senderArb), seq: optional(intField(1e6)), settled: rarely(intField(1e6)) }).map((f) => obj(f)),
        junk,
      ),
    ),
    shard: optional(intField(1023)),
    epoch: optional(intField(100)),
    from: optional(fc.oneof(fc.constantFrom("n1", "", "x".repeat(600), "a.b"), junk, fromArb)),
    actors: optional(fc.oneof({ weight: 4, arbitrary: fc.array(handoffActorArb, { maxLength: 4 }) }, { weight: 1, arbitrary: junk })),
    count: optional(intField(100)),
    extra: fc.option(extraArb),
  })
  .map(({ extra, ...f }) => obj(f, extra ?? []));

/** Envelopes that parse: the starting points of the mutations. */
export const validRequestArb: fc.Arbitrary<V> = fc
  .record({
    type: fc.constantFrom("account", "sequencer", "Thing_1"),
    id: validIdArb,
    msg: cleanMsgArb,
    timeoutMs: fc.oneof(fc.constant(ABSENT), fc.integer({ min: 1, max: MAX_TIMEOUT_MS })),
  })
  .map((f) => obj(f));
export const validRpcArb: fc.Arbitrary<V> = fc.oneof(
  fc
    .record({
      type: fc.constantFrom("account", "sequencer"),
      id: validIdArb,
      msg: cleanMsgArb,
      timeoutMs: fc.integer({ min: 1, max: MAX_TIMEOUT_MS }),
      mapVersion: fc.nat(50),
      hops: fc.nat(4),
      tail: fc.oneof(fc.constant(ABSENT), fc.nat(1023)),
    })
    .map((f) => obj({ k: "ask", ...f })),
  fc
    .record({
      shard: fc.nat(1023),
      mapVersion: fc.nat(50),
      epoch: fc.nat(9),
      from: fc.string({ maxLength: 10 }),
      actors: fc.array(
        fc
          .record({
            type: fc.constantFrom("account", "sequencer"),
            id: validIdArb,
            version: fc.nat(99),
            state: cleanValueArb,
            timers: fc.oneof(
              fc.constant(ABSENT),
              fc.array(
                fc
                  .record({
                    name: fc.string({ minLength: 1, maxLength: 10 }),
                    in: fc.nat(2 ** 31 - 1),
                    every: fc.oneof(fc.constant(ABSENT), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
                    msg: cleanMsgArb,
                  })
                  .map((f) => obj(f)),
                { maxLength: 2 },
              ),
            ),
          })
          .map((f) => obj(f)),
        { maxLength: 4 },
      ),
    })
    .map((f) => obj({ k: "handoff", ...f })),
  fc.record({ shard: fc.nat(1023), mapVersion: fc.nat(50), from: fc.string({ maxLength: 10 }), count: fc.nat(9) }).map((f) => obj({ k: "tail-end", ...f })),
);

/** Header widths to encode with (0: smallest incl. fix formats, 1: 8-bit, 2: 16-bit, 3: 32-bit). */
export const widthsArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 });
