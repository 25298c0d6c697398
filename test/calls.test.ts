import { describe, expect, it } from "vitest";
import { Calls } from "../cluster/calls.js";
import type { RpcRequest } from "../cluster/wire.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode } from "../src/errors.js";
import { outcome, promised } from "./outcomes.js";

const req: RpcRequest = { k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 1000, mapVersion: 1, hops: 0 };

/** Opens a call whose answer settles the returned `promise`. */
function open(calls: Calls, node: string, timeoutMs: number) {
  const { to, promise } = promised();
  return Object.assign(calls.open(node, req, timeoutMs, to), { promise });
}

describe("Calls", () => {
  it("settles a call by its corr once, with the reply or the typed error", async () => {
    const calls = new Calls(new ManualClock());
    const a = open(calls, "n2", 1000);
    const b = open(calls, "n2", 1000);
    calls.sent([a, b]);
    calls.ok(a.corr, 42);
    calls.ok(a.corr, 43);
    calls.error(b.corr, { code: ErrorCode.ACTOR_MOVED, message: "moved" });
    expect(await outcome(a.promise)).toEqual({ ok: 42 });
    expect(await outcome(b.promise)).toEqual({ err: ErrorCode.ACTOR_MOVED });
    expect(calls.size).toBe(0);
  });

  it("lets go of its request once sent, and of its batch once settled", async () => {
    const calls = new Calls(new ManualClock());
    const a = open(calls, "n2", 1000);
    expect(a.wire()).toEqual([a.corr, "account", "a", {}, 1000, 1, 0, null, 0]);
    expect(() => a.wire()).toThrow(/sent once/); // it holds the request only until it is sent
    calls.sent([a]);
    expect(a.batch).toBeDefined();
    calls.ok(a.corr, 1);
    expect(await outcome(a.promise)).toEqual({ ok: 1 });
    expect(a.batch).toBeUndefined();
  });

  it("times a call out at its own deadline, with one timer for all", async () => {
    const clock = new ManualClock();
    const calls = new Calls(clock);
    const short = open(calls, "n2", 100);
    const long = open(calls, "n2", 5000);
    calls.sent([short, long]);
    clock.advance(100);
    expect(await outcome(short.promise)).toEqual({ err: ErrorCode.TIMEOUT });
    expect(long.settled).toBe(false);
    calls.ok(long.corr, null);
    expect(await outcome(long.promise)).toEqual({ ok: null });
  });

  it("fails or answers the open calls of one batch together, and only those", async () => {
    const calls = new Calls(new ManualClock());
    const [a, b, c] = [open(calls, "n2", 1000), open(calls, "n2", 1000), open(calls, "n3", 1000)];
    const first = calls.sent([a, b]);
    const second = calls.sent([c]);
    calls.ok(a.corr, 1);
    calls.failBatch(first, (call) => new Error(`gone ${call.node}`));
    expect(await outcome(a.promise)).toEqual({ ok: 1 });
    expect(await outcome(b.promise)).toEqual({ err: "not a ShoalError: Error: gone n2" });
    expect(c.settled).toBe(false);
    calls.answerBatch(second, { ok: false, error: { code: ErrorCode.BAD_REQUEST, message: "unreadable" } });
    expect(await outcome(c.promise)).toEqual({ err: ErrorCode.BAD_REQUEST });
    expect(calls.size).toBe(0);
  });

  it("fails every open call when closed", async () => {
    const calls = new Calls(new ManualClock());
    const a = open(calls, "n2", 1000);
    calls.close();
    expect(await outcome(a.promise)).toEqual({ err: ErrorCode.UNAVAILABLE });
  });
});
