/**
 * Decoder fuzz, damaged valid envelopes: MessagePack with flipped bits, truncation, splicing and
 * inflated length headers of every format; JSON with mutated bytes.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { defaultDecodeLimits } from "../src/codec/limits.js";
import { byteMutation, type Inflation, inflate, markers, mutate } from "./support/byte-mutations.js";
import { describeDecoderFuzz } from "./support/decoder-fuzz-suite.js";
import { feed, small } from "./support/decoder-oracle.js";
import { validRequestArb, validRpcArb, widthsArb } from "./support/hostile-values.js";
import { encodeAs, MsgpackWriter } from "./support/wire-values.js";

describeDecoderFuzz("mutated envelopes", 31_000, () => {
  it("mutated valid MessagePack envelopes: bit flips, truncation, splicing, inflated length headers", () => {
    const inflation = fc.record({ which: fc.nat(), how: fc.constantFrom<Inflation>("plus1", "plus7", "max", "limit", "limitPlus1", "zero", "minus1") });
    fc.assert(
      fc.property(
        fc.oneof(validRequestArb, validRpcArb),
        validRpcArb,
        widthsArb,
        fc.array(inflation, { maxLength: 2 }),
        fc.array(byteMutation(fc.oneof(fc.constantFrom(...markers), fc.integer({ min: 0, max: 255 }))), { maxLength: 3 }),
        fc.option(fc.tuple(fc.nat(), fc.nat())),
        (v, other, widths, inflations, mutations, splice) => {
          const enc = MsgpackWriter.encode(v, widths);
          const valid = feed(enc.bytes, "msgpack");
          expect(valid.request || valid.rpc).toBe(true);
          let bytes = enc.bytes;
          for (const { which, how } of inflations) {
            if (enc.headers.length > 0) bytes = inflate(bytes, enc.headers[which % enc.headers.length]!, how, defaultDecodeLimits);
          }
          if (splice !== null) {
            const o = MsgpackWriter.encode(other).bytes;
            bytes = Uint8Array.from([...bytes.subarray(0, splice[0] % (bytes.length + 1)), ...o.subarray(splice[1] % (o.length + 1))]);
          }
          for (const m of mutations) bytes = mutate(bytes, m);
          feed(bytes, "msgpack");
          feed(bytes, "msgpack", small);
        },
      ),
      { numRuns: 7000 },
    );
  });

  it("mutated valid JSON envelopes", () => {
    const jsonBytes = fc.oneof(fc.constantFrom(...'{}[]":,\\-.0123456789eEntfu \x00'.split("").map((c) => c.charCodeAt(0))), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.oneof(validRequestArb, validRpcArb), fc.array(byteMutation(jsonBytes), { minLength: 1, maxLength: 3 }), (v, mutations) => {
        let bytes = encodeAs(v, "json");
        expect(feed(bytes, "json").decoded).toBe(true);
        for (const m of mutations) bytes = mutate(bytes, m);
        feed(bytes, "json");
      }),
      { numRuns: 5000 },
    );
  });
});
