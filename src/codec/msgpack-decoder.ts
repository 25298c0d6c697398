import { DecodeError, Decoder, type DecoderOptions } from "@msgpack/msgpack";

/**
 * `@msgpack/msgpack`'s Decoder, reading string values with the platform's UTF-8 decoder.
 *
 * The library decodes strings of up to 200 bytes with a JavaScript loop that builds an array
 * of code units and spreads it into `String.fromCharCode`: ~700 ns for 123 bytes, where
 * `TextDecoder` takes ~100 ns. A message payload of that size is the longest string in most
 * node batches, and that loop was the largest single cost of reading one (12% of a target
 * node's busy time at window 128). The library has a hook for map keys (`keyDecoder`) but not
 * for values, so this subclass replaces the one method that reads a string.
 *
 * Short strings (ids, type names, keys) stay on the library's path, which is faster below about
 * 20 bytes and caches map keys. Both paths are lenient in the same way: the library itself
 * decodes strings over 200 bytes with a non-fatal TextDecoder (invalid UTF-8 becomes U+FFFD).
 *
 * The method is private in the library's typings, so the replacement is checked when this
 * module loads (see {@link fastStrings}); should a later version of the library change its
 * internals, the stock Decoder is used and only the speed is lost.
 */
const SHORT = 24;
const utf8 = new TextDecoder();

/** The library's decoder state that the replacement reads (private in its typings). */
interface DecoderInternals {
  bytes: Uint8Array;
  pos: number;
  maxStrLength: number;
  stateIsMapKey(): boolean;
  decodeUtf8String(byteLength: number, headerOffset: number): string;
}

class StringsDecoder extends Decoder {}

const stock = (Decoder.prototype as unknown as DecoderInternals).decodeUtf8String;

Object.defineProperty(StringsDecoder.prototype, "decodeUtf8String", {
  value: function decodeUtf8String(this: DecoderInternals, byteLength: number, headerOffset: number): string {
    if (byteLength < SHORT || this.stateIsMapKey()) return stock.call(this, byteLength, headerOffset);
    if (byteLength > this.maxStrLength) {
      throw new DecodeError(`Max length exceeded: UTF-8 byte length (${byteLength}) > maxStrLength (${this.maxStrLength})`);
    }
    const start = this.pos + headerOffset;
    const end = start + byteLength;
    if (this.bytes.byteLength < end) throw new RangeError("Insufficient data");
    const value = utf8.decode(this.bytes.subarray(start, end));
    this.pos = end;
    return value;
  },
});

/**
 * Whether the replacement is in effect: a probe decodes a string with one byte that is not
 * UTF-8, which the library's loop reads as `ÿ` and TextDecoder as U+FFFD, beside a short string
 * and a map key, and must get exactly the platform decoder's answer.
 */
export const fastStrings: boolean = (() => {
  try {
    const long = [0xff, ...new Array<number>(SHORT).fill(0x61)];
    // {"k": [<long>, "ab"]}
    const probe = Uint8Array.from([0x81, 0xa1, 0x6b, 0x92, 0xd9, long.length, ...long, 0xa2, 0x61, 0x62]);
    const got = new StringsDecoder().decode(probe) as { k: [string, string] };
    return Object.keys(got).join() === "k" && got.k[0] === `\uFFFD${"a".repeat(SHORT)}` && got.k[1] === "ab";
  } catch {
    return false;
  }
})();

/** A decoder with `options`: the faster one when the probe passed, else the library's own. */
export function createDecoder(options: DecoderOptions): Decoder {
  return fastStrings ? new StringsDecoder(options) : new Decoder(options);
}
