import { decode, encode } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRequest } from "../src/codec/envelope.js";
import { decodeJson, encodeJson } from "../src/codec/json.js";
import { defaultDecodeLimits, forbiddenKeys, MAX_DEPTH_LIMIT } from "../src/codec/limits.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { fastStrings } from "../src/codec/msgpack-strings.js";
import { decodeToken, encodeToken } from "../src/codec/token.js";
import { ErrorCode, ShoalError } from "../src/errors.js";

const codec = new MsgpackCodec();
const bad = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(ShoalError.is(err, ErrorCode.BAD_REQUEST)).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected BAD_REQUEST, got success");
};
const te = new TextEncoder();

/** Generated JSON may hold forbidden keys: those must be refused, everything else round-trip. */
function hasForbiddenKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  if (typeof v !== "object" || v === null) return false;
  return Object.keys(v).some((k) => ["__proto__", "constructor", "prototype"].includes(k) || hasForbiddenKey((v as Record<string, unknown>)[k]));
}

describe("msgpack codec", () => {
  it("round-trips JSON-like data", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        if (hasForbiddenKey(v)) return void bad(() => codec.decode(codec.encode(v)));
        // -0 becomes 0 in MessagePack, as in JSON.
        expect(codec.decode(codec.encode(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it("gives every encode bytes of its own", () => {
    const first = codec.encode({ a: "x".repeat(100) });
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 200; i++) codec.encode({ b: "y".repeat(i * 10) });
    expect(Uint8Array.from(first)).toEqual(copy);
    expect(codec.decode(first)).toEqual({ a: "x".repeat(100) });
  });

  it("rejects forbidden keys at any depth", () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      // Build the raw bytes by hand: encode a map with a harmless key, then patch the key name.
      const raw = encode({ a: { [`x${key.slice(1)}`]: 1 } });
      const patched = Buffer.from(raw);
      const at = patched.indexOf(Buffer.from(`x${key.slice(1)}`));
      patched.write(key[0]!, at);
      expect(bad(() => codec.decode(patched))).toMatch(/key/);
    }
  });

  it("enforces nesting depth", () => {
    let v: unknown = 1;
    for (let i = 0; i < defaultDecodeLimits.maxDepth + 1; i++) v = [v];
    expect(bad(() => codec.decode(encode(v)))).toMatch(/nested/);
    let ok: unknown = 1;
    for (let i = 0; i < defaultDecodeLimits.maxDepth; i++) ok = [ok];
    expect(codec.decode(encode(ok))).toEqual(ok);
  });

  it("refuses length headers past the limits without allocating them", () => {
    const small = new MsgpackCodec({ maxStringLength: 10, maxArrayLength: 3, maxMapLength: 2, maxBinaryLength: 4 });
    bad(() => small.decode(encode("x".repeat(11))));
    bad(() => small.decode(encode([1, 2, 3, 4])));
    bad(() => small.decode(encode({ a: 1, b: 2, c: 3 })));
    bad(() => small.decode(encode(new Uint8Array(5))));
    // array32 header claiming 4 billion elements, with no body
    bad(() => codec.decode(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff])));
    // str32 header claiming 4 GiB
    bad(() => codec.decode(Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])));
  });

  it("refuses oversized payloads, truncated and trailing bytes, and non-string map keys", () => {
    const small = new MsgpackCodec({ maxBytes: 16 });
    bad(() => small.decode(encode("x".repeat(40))));
    const full = encode({ hello: "world" });
    bad(() => codec.decode(full.subarray(0, full.length - 2)));
    bad(() => codec.decode(Uint8Array.from([...full, 0xc1])));
    bad(() => codec.decode(new Uint8Array(0)));
    bad(() => codec.decode(Uint8Array.from([0x81, 0x01, 0x02]))); // {1: 2}
  });

  it("reads strings of every length with the platform decoder past the short ones", () => {
    // The faster string reader must be in effect: a library upgrade that breaks it fails here.
    expect(fastStrings).toBe(true);
    const pieces = ["a", "é", "中", "😀", "\u0000", "~"];
    for (let length = 0; length <= 300; length++) {
      const s = Array.from({ length }, (_, i) => pieces[(i * 7 + length) % pieces.length]).join("");
      expect(codec.decode(codec.encode({ s, k: [s, { [s.slice(0, 20)]: s }] }))).toEqual({ s, k: [s, { [s.slice(0, 20)]: s }] });
    }
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 120 }),
        fc.string({ maxLength: 40 }).filter((k) => !forbiddenKeys.has(k)),
        (a, b) => {
          expect(codec.decode(codec.encode([a, b, { [b]: a }]))).toEqual([a, b, { [b]: a }]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("writes every string to the bytes the library's own encoder writes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), fc.string({ unit: "grapheme", minLength: 40, maxLength: 200 }), (a, b) => {
        // `binary` strings hold unpaired surrogates too.
        for (const v of [a, b, { [b.slice(0, 10) || "k"]: [a, b] }]) {
          if (typeof v === "object" && forbiddenKeys.has(Object.keys(v)[0]!)) continue;
          // Buffer.compare, not toEqual: a deep compare of byte arrays took most of this test's time.
          const [ours, theirs] = [codec.encode(v), encode(v)];
          if (Buffer.compare(ours, theirs) !== 0) expect(ours).toEqual(theirs);
        }
      }),
      { numRuns: 2000 },
    );
    for (const n of [50, 51, 255, 256, 65_535, 65_536]) expect(codec.encode("é".repeat(n))).toEqual(encode("é".repeat(n)));
  });

  it("keeps a leading U+FEFF in values and keys of every length", () => {
    // @msgpack/msgpack's own TextDecoder drops it from strings over 200 bytes.
    for (let n = 0; n <= 300; n += 7) {
      const s = `\uFEFF${"b".repeat(n)}`;
      expect(codec.decode(codec.encode({ [s]: [s] }))).toEqual({ [s]: [s] });
    }
  });

  it("reads any bytes in a string exactly as the library does, but for a leading U+FEFF past 200 bytes", () => {
    const str = (body: Uint8Array) => Uint8Array.from([...(body.length < 256 ? [0xd9, body.length] : [0xda, body.length >> 8, body.length & 0xff]), ...body]);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }), // mostly not UTF-8
      fc.string({ unit: "binary", maxLength: 120 }).map((s) => encode(s).subarray(1)), // what the library writes, unpaired surrogates too
    );
    fc.assert(
      fc.property(bytes, (body) => {
        const stock = decode(str(body)) as string;
        const keepsBom = body.length > 200 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
        expect(codec.decode(str(body))).toBe(keepsBom ? `\uFEFF${stock}` : stock);
      }),
      { numRuns: 3000 },
    );
    // 0xff is not UTF-8: the library's loop keeps it as U+00FF up to 200 bytes; past that its
    // TextDecoder reads U+FFFD.
    for (const n of [30, 100, 199, 250]) {
      const body = Uint8Array.from([0xff, ...new Array<number>(n - 1).fill(0x61)]);
      expect(codec.decode(str(body))).toBe(`${n <= 200 ? "\u00FF" : "\uFFFD"}${"a".repeat(n - 1)}`);
    }
  });

  it("refuses a string longer than the limit or than the bytes left, at every length", () => {
    const small = new MsgpackCodec({ maxStringLength: 40 });
    expect(small.decode(encode("x".repeat(40)))).toBe("x".repeat(40));
    bad(() => small.decode(encode("x".repeat(41))));
    bad(() => small.decode(encode(["é".repeat(21)]))); // 21 characters, 42 bytes
    for (const n of [5, 30, 150, 250]) {
      const full = encode({ s: "y".repeat(n) });
      bad(() => codec.decode(full.subarray(0, full.length - 1)));
    }
  });

  it("refuses a depth limit past what its check can walk", () => {
    expect(() => new MsgpackCodec({ maxDepth: MAX_DEPTH_LIMIT + 1 })).toThrow(RangeError);
    expect(() => new MsgpackCodec({ maxDepth: 1.5 })).toThrow(RangeError);
    const deep = new MsgpackCodec({ maxDepth: MAX_DEPTH_LIMIT });
    const nested = (levels: number) => Uint8Array.from([...new Array<number>(levels).fill(0x91), 0x01]); // [[[…1…]]]
    let v: unknown = 1;
    for (let i = 0; i < MAX_DEPTH_LIMIT; i++) v = [v];
    expect(deep.decode(nested(MAX_DEPTH_LIMIT))).toEqual(v);
    expect(bad(() => deep.decode(nested(MAX_DEPTH_LIMIT + 1)))).toMatch(/nested/);
  });

  it("never throws anything but BAD_REQUEST on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          codec.decode(bytes);
        } catch (err) {
          expect(ShoalError.is(err, ErrorCode.BAD_REQUEST)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe("JSON codec", () => {
  it("applies the same limits and key rules", () => {
    expect(decodeJson(te.encode('{"a":[1,2,{"b":"c"}]}'))).toEqual({ a: [1, 2, { b: "c" }] });
    expect(bad(() => decodeJson(te.encode('{"__proto__":{"polluted":1}}')))).toMatch(/__proto__/);
    expect(bad(() => decodeJson(te.encode('{"a":{"constructor":{"prototype":1}}}')))).toMatch(/constructor/);
    bad(() => decodeJson(te.encode("[".repeat(40) + "]".repeat(40))));
    bad(() => decodeJson(te.encode("[".repeat(200_000))));
    bad(() => decodeJson(te.encode("{not json")));
    bad(() => decodeJson(te.encode("")));
    bad(() => decodeJson(Uint8Array.from([0x22, 0xff, 0xfe, 0x22]))); // invalid UTF-8 inside a string
    bad(() => decodeJson(te.encode(`"${"x".repeat(2_000_000)}"`)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("encodes what it decodes", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        if (hasForbiddenKey(v)) return void bad(() => decodeJson(encodeJson(v)));
        expect(decodeJson(encodeJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });
});

describe("subject tokens", () => {
  it("are injective and contain no NATS special characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1 }), fc.string({ unit: "grapheme", minLength: 1 }), (a, b) => {
        const ta = encodeToken(a);
        expect(ta).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeToken(ta)).toBe(a);
        if (a !== b) expect(encodeToken(b)).not.toBe(ta);
      }),
    );
    for (const id of ["a.b", "*", ">", "a b", "a\tb", "..", "émoji 🐟"]) expect(encodeToken(id)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe("request envelope", () => {
  const base = { type: "account", id: "a", msg: { balance: {} } };
  it("refuses null for every optional field, as for a wrong type (null is not absent)", () => {
    const order = { sender: "s", seq: 2 };
    for (const bad of [{ timeoutMs: null }, { verb: null }, { ...order, settled: null }, { sender: null, seq: 1 }, { sender: "s", seq: null }]) {
      let caught: unknown;
      try {
        parseRequest({ ...base, ...bad });
      } catch (err) {
        caught = err;
      }
      expect(ShoalError.is(caught, ErrorCode.BAD_REQUEST), JSON.stringify(bad)).toBe(true);
    }
    expect(parseRequest({ ...base, ...order, settled: 1 })).toMatchObject({ sender: "s", seq: 2, settled: 1 });
  });
});
