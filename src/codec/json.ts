import { BadRequestError } from "../errors.js";
import { checkDecoded, checkSize } from "./check.js";
import { type DecodeLimits, defaultDecodeLimits } from "./limits.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * JSON at the ingress, under the same limits and key rules as MessagePack. Invalid UTF-8 is
 * rejected rather than replaced, so two different byte strings never decode to one id.
 */
export function decodeJson(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): unknown {
  checkSize(bytes, limits);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (err) {
    throw new BadRequestError("payload is not valid UTF-8", { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // SyntaxError for bad JSON, RangeError for nesting deep enough to exhaust the parser.
    throw new BadRequestError(`malformed JSON: ${(err as Error).message.slice(0, 200)}`, { cause: err });
  }
  checkDecoded(value, limits);
  return value;
}

export function encodeJson(value: unknown): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(value));
}
