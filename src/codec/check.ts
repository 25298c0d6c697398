import { BadRequestError } from "../errors.js";
import { type DecodeLimits, forbiddenKeys } from "./limits.js";

/**
 * Walks a decoded value without recursion and enforces nesting depth, container sizes,
 * string lengths and forbidden keys. Both decoders (MessagePack and JSON) call this, so the
 * two formats accept exactly the same shapes.
 */
export function checkDecoded(value: unknown, limits: DecodeLimits): void {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === "string") {
      if (v.length > limits.maxStringLength) throw tooLong("string", v.length, limits.maxStringLength);
      continue;
    }
    if (typeof v !== "object" || v === null || v instanceof Uint8Array) continue;
    if (depth >= limits.maxDepth) {
      throw new BadRequestError(`payload nested deeper than ${limits.maxDepth} levels`, {
        details: { limit: "maxDepth", max: limits.maxDepth },
      });
    }
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayLength) throw tooLong("array", v.length, limits.maxArrayLength);
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
      continue;
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
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
    }
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
