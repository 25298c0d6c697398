/**
 * Decoder fuzz, raw bytes: random bytes, bytes biased to MessagePack markers, and JSON token soup,
 * each through both decoders under the default and the small limits.
 */
import fc from "fast-check";
import { it } from "vitest";
import { markers } from "./support/byte-mutations.js";
import { describeDecoderFuzz } from "./support/decoder-fuzz-suite.js";
import { feed, small } from "./support/decoder-oracle.js";

const te = new TextEncoder();

describeDecoderFuzz("raw bytes", 26_000, () => {
  it("random bytes, MessagePack-biased bytes and JSON token soup", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        feed(bytes, "msgpack");
        feed(bytes, "json");
      }),
      { numRuns: 6000 },
    );
    const biased = fc.array(fc.oneof(fc.constantFrom(...markers), fc.integer({ min: 0, max: 255 })), { maxLength: 80 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(biased, (bytes) => {
        feed(bytes, "msgpack");
        feed(bytes, "msgpack", small);
      }),
      { numRuns: 4000 },
    );
    const tokens = [
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
      '"k"',
      '"ask"',
      '"account"',
      '"timeoutMs"',
      "1",
      "-",
      "e",
      ".",
      "null",
      "true",
      '"__proto__"',
      " ",
      "\\u0000",
      "\\ud800",
      '"x"',
      "\\",
      "1e999",
    ];
    const soup = fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((a) => te.encode(a.join("")));
    fc.assert(
      fc.property(soup, (bytes) => {
        feed(bytes, "json");
        feed(bytes, "json", small);
      }),
      { numRuns: 3000 },
    );
  });
});
