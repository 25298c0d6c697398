import { describe, expect, it } from "vitest";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import {
  ActorMovedError,
  BadRequestError,
  ConflictError,
  ErrorCode,
  errorFromWire,
  errorToWire,
  OverloadedError,
  ShoalError,
  TimeoutError,
  unknownActorType,
} from "../src/errors.js";

describe("typed errors", () => {
  it("survive a round trip through the codec with code, class and details", () => {
    const codec = new MsgpackCodec();
    const cases: ShoalError[] = [
      new BadRequestError("bad", { details: { field: "id" } }),
      new OverloadedError("full", { details: { capacity: 3 } }),
      new TimeoutError("slow"),
      new ConflictError("raced", { details: { expected: 1, actual: 2 } }),
      new ActorMovedError("moved", { details: { owner: "n2" } }),
      unknownActorType("nope"),
    ];
    for (const err of cases) {
      const back = errorFromWire(codec.decode(codec.encode(errorToWire(err))));
      expect(back.code).toBe(err.code);
      expect(back.name).toBe(err.name);
      expect(back.message).toBe(err.message);
      expect(back.details).toEqual(err.details);
      expect(back).toBeInstanceOf(ShoalError);
      expect(ShoalError.is(back, err.code)).toBe(true);
    }
  });

  it("keep causes local and hide foreign errors", () => {
    const cause = new Error("secret internals");
    const err = new ConflictError("raced", { cause });
    expect(err.cause).toBe(cause);
    expect(JSON.stringify(errorToWire(err))).not.toContain("secret");
    expect(errorToWire(new Error("secret"))).toEqual({ code: ErrorCode.INTERNAL, message: "internal error" });
  });

  it("turn unknown or malformed wire errors into INTERNAL", () => {
    expect(errorFromWire({ code: "WHAT", message: "x" }).code).toBe(ErrorCode.INTERNAL);
    expect(errorFromWire(null).code).toBe(ErrorCode.INTERNAL);
    expect(errorFromWire({ code: "__proto__", message: "x" }).code).toBe(ErrorCode.INTERNAL);
  });
});
