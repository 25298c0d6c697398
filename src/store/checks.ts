import { checkActorId, checkActorTypeName } from "../actor/names.js";
import type { MsgpackCodec } from "../codec/msgpack.js";
import { BadRequestError, ConflictError, ShoalError } from "../errors.js";
import type { ActorKey } from "./types.js";

/**
 * Argument checks and codec round trips shared by every {@link EventStore} implementation, so
 * that they reject exactly the same inputs with exactly the same errors.
 */

/** A key whose type is a type name and whose id is a well-formed, bounded, non-empty string. */
export function checkKey(key: ActorKey): ActorKey {
  if (typeof key !== "object" || key === null) throw new BadRequestError("actor key must be an object");
  checkActorTypeName(key.type);
  checkActorId(key.id);
  return key;
}

/** A version: a non-negative safe integer. */
export function checkVersion(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new BadRequestError(`${field} must be a non-negative integer, got ${String(value)}`, { details: { field } });
  }
  return value;
}

/** The events of one append: a non-empty array. */
export function checkEvents(events: unknown): readonly unknown[] {
  if (!Array.isArray(events)) throw new BadRequestError("events must be an array", { details: { field: "events" } });
  if (events.length === 0) {
    throw new BadRequestError("an append needs at least one event", { details: { field: "events" } });
  }
  return events;
}

/**
 * Encodes `value` and decodes it again under the codec's limits: what is stored is exactly what
 * every later reader can decode. Anything the codec cannot carry is a BAD_REQUEST, before any I/O.
 */
export function roundTrip(codec: MsgpackCodec, value: unknown, what: string): { bytes: Uint8Array; decoded: unknown } {
  let bytes: Uint8Array;
  try {
    bytes = codec.encode(value);
  } catch (err) {
    throw new BadRequestError(`${what} cannot be encoded: ${(err as Error).message}`, { cause: err });
  }
  try {
    return { bytes, decoded: codec.decode(bytes) };
  } catch (err) {
    const message = ShoalError.is(err) ? err.message : String(err);
    throw new BadRequestError(`${what} does not survive the codec: ${message}`, { cause: err });
  }
}

/**
 * The CONFLICT of an append at `expected`. `actual` is the version the store saw; left out when
 * unknown, or when it still reads `expected` (a rival's batch for that version was still in flight).
 */
export function versionConflict(actorType: string, expected: number, actual: number | undefined): ConflictError {
  const known = actual !== undefined && actual !== expected;
  const why = known ? `the actor is at version ${actual}` : "another writer won that version";
  return new ConflictError(`append to ${actorType} at version ${expected} refused: ${why}`, {
    details: known ? { expected, actual } : { expected },
  });
}
