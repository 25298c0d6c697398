/**
 * Decode limits. Everything that arrives from outside the node (ingress, node-to-node, the
 * event store) is decoded under these limits; a payload past any of them is a BAD_REQUEST,
 * checked before the payload is trusted or handed to an actor.
 */
export interface DecodeLimits {
  /** Largest encoded payload in bytes. */
  maxBytes: number;
  /** Longest string, in UTF-8 bytes for MessagePack and UTF-16 units for JSON. */
  maxStringLength: number;
  /** Longest binary value (MessagePack bin/ext). */
  maxBinaryLength: number;
  /** Most elements in one array. */
  maxArrayLength: number;
  /** Most entries in one map/object. */
  maxMapLength: number;
  /** Deepest nesting of arrays and maps; a scalar at top level has depth 0. */
  maxDepth: number;
}

export const defaultDecodeLimits: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxStringLength: 256 * 1024,
  maxBinaryLength: 1024 * 1024,
  maxArrayLength: 100_000,
  maxMapLength: 10_000,
  maxDepth: 32,
});

/** Object keys that could reach an object's prototype when copied around; never accepted. */
export const forbiddenKeys: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** The deepest `maxDepth` accepted: the depth check walks nested values by recursion. */
export const MAX_DEPTH_LIMIT = 1000;

export function resolveLimits(overrides?: Partial<DecodeLimits>): DecodeLimits {
  if (overrides === undefined) return defaultDecodeLimits;
  const limits = { ...defaultDecodeLimits, ...overrides };
  if (!Number.isInteger(limits.maxDepth) || limits.maxDepth < 0 || limits.maxDepth > MAX_DEPTH_LIMIT) {
    throw new RangeError(`maxDepth must be an integer from 0 to ${MAX_DEPTH_LIMIT}, not ${limits.maxDepth}`);
  }
  return limits;
}
