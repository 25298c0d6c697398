import { BadRequestError } from "../errors.js";
import { type DecodeLimits, forbiddenKeys } from "./limits.js";

/**
 * Walks a decoded value and enforces nesting depth, container sizes, string lengths and
 * forbidden keys. Both decoders (MessagePack and JSON) call this, so the two formats accept
 * exactly the same shapes. The walk recurses, but never deeper than `limits.maxDepth` (it throws
 * first), and allocates nothing: it runs on every batch a node reads.
 */
export function checkDecoded(value: unknown, limits: DecodeLimits): void {
  walk(value, 0, limits);
}

function walk(v: unknown, depth: number, limits: DecodeLimits): void {
  if (typeof v === "string") {
    if (v.length > limits.maxStringLength) throw tooLong("string", v.length, limits.maxStringLength);
    return;
  }
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return;
  if (depth >= limits.maxDepth) {
    throw new BadRequestError(`payload nested deeper than ${limits.maxDepth} levels`, {
      details: { limit: "maxDepth", max: limits.maxDepth },
    });
  }
  if (Array.isArray(v)) {
    if (v.length > limits.maxArrayLength) throw tooLong("array", v.length, limits.maxArrayLength);
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, limits);
    return;
  }
  if (v instanceof Map) {
    throw new BadRequestError("maps with non-string keys are not accepted");
  }
  const keys = Object.keys(v);
  if (keys.length > limits.maxMapLength) throw tooLong("map", keys.length, limits.maxMapLength);
  for (const key of keys) {
    if (forbiddenKeys.has(key)) {
      throw new BadRequestError(`forbidden key ${JSON.stringify(key)} in payload`, { details: { key } });
    }
    if (key.length > limits.maxStringLength) throw tooLong("key", key.length, limits.maxStringLength);
    walk((v as Record<string, unknown>)[key], depth + 1, limits);
  }
}

function tooLong(what: string, length: number, max: number): BadRequestError {
  return new BadRequestError(`${what} of length ${length} exceeds the limit of ${max}`, {
    details: { limit: what, length, max },
  });
}

export function checkSize(bytes: Uint8Array | string, limits: DecodeLimits): void {
  const size = typeof bytes === "string" ? Buffer.byteLength(bytes, "utf8") : bytes.byteLength;
  if (size > limits.maxBytes) {
    throw new BadRequestError(`payload of ${size} bytes exceeds the limit of ${limits.maxBytes}`, {
      details: { limit: "maxBytes", size, max: limits.maxBytes },
    });
  }
}
