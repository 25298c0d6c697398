/** Decoder fuzz, the ingress envelope: a hostile request is accepted exactly when every field is valid. */
import fc from "fast-check";
import { expect, it } from "vitest";
import { describeDecoderFuzz } from "./support/decoder-fuzz-suite.js";
import { expectRequest, feed } from "./support/decoder-oracle.js";
import { requestArb, widthsArb } from "./support/hostile-values.js";
import { encodeAs, jsonText } from "./support/wire-values.js";

describeDecoderFuzz("ingress requests", 10_000, () => {
  it("hostile ingress requests: accepted exactly when every field is valid", () => {
    fc.assert(
      fc.property(requestArb, widthsArb, fc.boolean(), (v, widths, wtf8) => {
        for (const fmt of ["msgpack", "json"] as const) {
          const out = feed(encodeAs(v, fmt, widths, wtf8), fmt);
          if (out.decoded) expect(out.request, jsonText(v).slice(0, 300)).toBe(expectRequest(out.value));
        }
      }),
      { numRuns: 5000 },
    );
  });
});
