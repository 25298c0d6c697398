import { DecodeError, Decoder, type DecoderOptions, Encoder, type EncoderOptions } from "@msgpack/msgpack";

/**
 * `@msgpack/msgpack`'s Encoder and Decoder, with the platform's UTF-8 routines for strings that
 * are not short.
 *
 * Reading: the library decodes strings of up to 200 bytes with a JavaScript loop that builds an array
 * of code units and spreads it into `String.fromCharCode`: ~700 ns for 123 bytes, where
 * `TextDecoder` takes ~100 ns. A message payload of that size is the longest string in most
 * node batches, and that loop was the largest single cost of reading one (12% of a target
 * node's busy time at window 128). The library has a hook for map keys (`keyDecoder`) but not
 * for values, so this subclass replaces the one method that reads a string.
 *
 * Short strings (ids, type names, most keys) stay on the library's path, which is faster below
 * about 20 bytes and caches map keys. The result is the library's own, string for string: where
 * TextDecoder had to replace something (U+FFFD in its result: invalid UTF-8, such as the
 * unpaired surrogates the library writes into short strings) a string of up to 200 bytes is
 * read again by the library's loop, which is what it would have used. One difference is meant:
 * past 200 bytes the library's TextDecoder drops a leading U+FEFF, so such strings did not
 * round-trip; this one keeps it.
 *
 * Writing: the library counts a string's UTF-8 bytes with a JavaScript loop before it encodes
 * it (with `TextEncoder.encodeInto` past 50 characters): 2.6 µs for 1 KB, where
 * `Buffer.byteLength` takes 0.17 µs. Both count an unpaired surrogate as the 3 bytes of the
 * U+FFFD that `encodeInto` writes for it, so the bytes are the library's own.
 *
 * The methods are private in the library's typings, so the replacements are checked when this
 * module loads (see {@link fastStrings}); should a later version of the library change its
 * internals, the stock Encoder and Decoder are used and only the speed is lost.
 */
/** Below this many bytes a string is read by the library's own loop, which is faster there. */
const SHORT = 24;
/** Up to this many bytes the library reads strings with its own loop (past it, TextDecoder). */
const TEXT_DECODER_THRESHOLD = 200;
/** Past this many characters the library encodes with `TextEncoder.encodeInto`. */
const TEXT_ENCODER_THRESHOLD = 50;
/** `ignoreBOM`: a leading U+FEFF is part of the string. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Out = new TextEncoder();

/** The library's decoder state that the replacement reads (private in its typings). */
interface DecoderInternals {
  bytes: Uint8Array;
  pos: number;
  maxStrLength: number;
  decodeUtf8String(byteLength: number, headerOffset: number): string;
}

/** The library's encoder state that the replacement uses (private in its typings). */
interface EncoderInternals {
  bytes: Uint8Array;
  pos: number;
  ensureBufferSizeToWrite(size: number): void;
  writeStringHeader(byteLength: number): void;
  encodeString(value: string): void;
}

class StringsDecoder extends Decoder {}
class StringsEncoder extends Encoder {}

const stock = (Decoder.prototype as unknown as DecoderInternals).decodeUtf8String;
const stockEncode = (Encoder.prototype as unknown as EncoderInternals).encodeString;

Object.defineProperty(StringsEncoder.prototype, "encodeString", {
  value: function encodeString(this: EncoderInternals, value: string): void {
    if (value.length <= TEXT_ENCODER_THRESHOLD) return stockEncode.call(this, value);
    const byteLength = Buffer.byteLength(value, "utf8");
    this.ensureBufferSizeToWrite(5 + byteLength);
    this.writeStringHeader(byteLength);
    utf8Out.encodeInto(value, this.bytes.subarray(this.pos, this.pos + byteLength));
    this.pos += byteLength;
  },
});

Object.defineProperty(StringsDecoder.prototype, "decodeUtf8String", {
  value: function decodeUtf8String(this: DecoderInternals, byteLength: number, headerOffset: number): string {
    if (byteLength < SHORT) return stock.call(this, byteLength, headerOffset);
    if (byteLength > this.maxStrLength) {
      throw new DecodeError(`Max length exceeded: UTF-8 byte length (${byteLength}) > maxStrLength (${this.maxStrLength})`);
    }
    const start = this.pos + headerOffset;
    const end = start + byteLength;
    if (this.bytes.byteLength < end) throw new RangeError("Insufficient data");
    const value = utf8.decode(this.bytes.subarray(start, end));
    if (byteLength <= TEXT_DECODER_THRESHOLD && value.includes("\uFFFD")) return stock.call(this, byteLength, headerOffset);
    this.pos = end;
    return value;
  },
});

/**
 * Whether the replacements are in effect. Writing: the library's internals are there, and
 * strings of every size class and of every UTF-8 width (with an unpaired surrogate) encode to
 * the stock encoder's bytes. Reading: a probe of a long string with a leading U+FEFF (which
 * only the replacement keeps), a mid-sized one that is not UTF-8 (read as the library reads
 * it), a short one and a map key must come out exactly so.
 */
export const fastStrings: boolean = (() => {
  try {
    const internals = Encoder.prototype as unknown as Partial<EncoderInternals>;
    if (typeof internals.ensureBufferSizeToWrite !== "function" || typeof internals.writeStringHeader !== "function" || typeof stockEncode !== "function")
      return false;
    const sample = ["x".repeat(51), `é中😀\uD800${"y".repeat(60)}`, "z".repeat(300), "w".repeat(70_000)];
    const ours = new StringsEncoder().encode(sample);
    const theirs = new Encoder().encode(sample);
    if (ours.length !== theirs.length || !ours.every((b, i) => b === theirs[i])) return false;
    const bad = [0xff, ...new Array<number>(SHORT).fill(0x61)];
    const bom = [0xef, 0xbb, 0xbf, ...new Array<number>(TEXT_DECODER_THRESHOLD).fill(0x62)];
    // {"k": [<bad>, "ab", <bom>]}
    const probe = Uint8Array.from([0x81, 0xa1, 0x6b, 0x93, 0xd9, bad.length, ...bad, 0xa2, 0x61, 0x62, 0xda, bom.length >> 8, bom.length & 0xff, ...bom]);
    const got = new StringsDecoder().decode(probe) as { k: [string, string, string] };
    return (
      Object.keys(got).join() === "k" &&
      got.k[0] === `\u00FF${"a".repeat(SHORT)}` &&
      got.k[1] === "ab" &&
      got.k[2] === `\uFEFF${"b".repeat(TEXT_DECODER_THRESHOLD)}`
    );
  } catch {
    return false;
  }
})();

/** An encoder with `options`: the faster one when the probe passed, else the library's own. */
export function createEncoder(options: EncoderOptions): Encoder {
  return fastStrings ? new StringsEncoder(options) : new Encoder(options);
}

/** A decoder with `options`: the faster one when the probe passed, else the library's own. */
export function createDecoder(options: DecoderOptions): Decoder {
  return fastStrings ? new StringsDecoder(options) : new Decoder(options);
}
