/**
 * The frame of every decoder fuzz file (test/fuzz-decoders-*.test.ts): hostile input at the two
 * decoders a node exposes (invariant 6 of DESIGN.md), the ingress (`decodeJson` /
 * `MsgpackCodec.decode` + `parseRequest`) and the node-to-node rpc (`MsgpackCodec.decode` +
 * `parseRpc`). Every generated input must either parse into a well-formed value or be refused
 * with a BAD_REQUEST — never another error, never a hang. Sizes are bounded so each file runs in
 * a few seconds.
 *
 * Each file runs in a worker of its own, so each checks its own count of inputs and its own
 * Object.prototype. The files' floors add up to 85,000 inputs (the single file they came from
 * asked for at least 50,000 in all).
 */
import { afterAll, describe, expect, it } from "vitest";
import { stats } from "./decoder-oracle.js";

export function describeDecoderFuzz(family: string, minInputs: number, tests: () => void): void {
  const started = performance.now();
  const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

  afterAll(() => {
    const s = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz-decoders (${family}): ${stats.inputs} generated inputs in ${s} s — ${stats.decoded} decoded, ${stats.requests} valid requests, ${stats.rpcs} valid node requests, ${stats.refused} BAD_REQUEST refusals`,
    );
  });

  describe("decoders under hostile input: BAD_REQUEST or a well-formed value, nothing else", { timeout: 30_000 }, () => {
    tests();

    it(`ran at least ${minInputs.toLocaleString("en-US")} generated inputs`, () => {
      expect(stats.inputs).toBeGreaterThanOrEqual(minInputs);
    });

    it("left no trace on Object.prototype", () => {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(Object.prototype)).toEqual([]);
    });
  });
}
