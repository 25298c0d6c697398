import { describe, expect, it } from "vitest";
import { Calls } from "../cluster/calls.js";
import type { RpcRequest } from "../cluster/wire.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode } from "../src/errors.js";
import { outcome, promised } from "./support/outcomes.js";

const req: RpcRequest = { k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 1000, mapVersion: 1, hops: 0 };

/** Opens a call whose answer settles the returned `promise`. */
function open(calls: Calls, node: string, timeoutMs: number, r: RpcRequest = req) {
  const { to, promise } = promised();
  return Object.assign(calls.open(node, r, timeoutMs, to), { promise });
}

const tell: RpcRequest = { ...req, discard: true, tell: true };

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

  it("fails every open call when closed, and the unsent ones it is given", async () => {
    const calls = new Calls(new ManualClock());
    const a = open(calls, "n2", 1000);
    const [sentTell, unsentTell] = [open(calls, "n2", 1000, tell), open(calls, "n2", 1000, tell)];
    calls.sent([sentTell]);
    calls.close([unsentTell]);
    expect(await outcome(a.promise)).toEqual({ err: ErrorCode.UNAVAILABLE });
    expect(await outcome(sentTell.promise)).toEqual({ err: ErrorCode.UNAVAILABLE });
    expect(await outcome(unsentTell.promise)).toEqual({ err: ErrorCode.UNAVAILABLE });
  });

  it("answers the tells of a batch together by its acknowledgement, with null, and counts what failed at the peer", async () => {
    const calls = new Calls(new ManualClock());
    const failed: Array<[string, number]> = [];
    calls.onTellsFailed = (node, n) => failed.push([node, n]);
    const [p1, a, p2] = [open(calls, "n2", 1000, tell), open(calls, "n2", 1000), open(calls, "n2", 1000, tell)];
    expect([p1.corr, p2.corr]).toEqual([0, 0]);
    expect(a.corr).toBeGreaterThan(0);
    expect(p1.wire()).toEqual([0, "account", "a", {}, 1000, 1, 0, null, 2]);
    const batch = calls.sent([p1, a, p2]);
    calls.ok(0, "not for tells"); // corr 0 names no call
    expect([p1.settled, p2.settled]).toEqual([false, false]);
    calls.told(batch + 1, 0); // another batch's acknowledgement
    expect([p1.settled, p2.settled]).toEqual([false, false]);
    calls.told(batch, 1);
    expect(await outcome(p1.promise)).toEqual({ ok: null });
    expect(await outcome(p2.promise)).toEqual({ ok: null });
    expect(failed).toEqual([["n2", 1]]);
    expect(a.settled).toBe(false); // the ask waits for its own answer
    calls.ok(a.corr, 7);
    expect(await outcome(a.promise)).toEqual({ ok: 7 });
    calls.told(batch, 0); // the batch is gone: a repeated acknowledgement changes nothing
    expect(failed).toEqual([["n2", 1]]);
  });

  it("times the tells of a batch out together at the latest of their deadlines, and fails them with the batch", async () => {
    const clock = new ManualClock();
    const calls = new Calls(clock);
    const [early, late] = [open(calls, "n2", 100, tell), open(calls, "n2", 300, tell)];
    calls.sent([early, late]);
    clock.advance(299);
    expect([early.settled, late.settled]).toEqual([false, false]);
    clock.advance(1);
    expect(await outcome(early.promise)).toEqual({ err: ErrorCode.TIMEOUT });
    expect(await outcome(late.promise)).toEqual({ err: ErrorCode.TIMEOUT });
    const gone = open(calls, "n3", 1000, tell);
    calls.failBatch(calls.sent([gone]), () => new Error("no responders"));
    expect(await outcome(gone.promise)).toEqual({ err: "not a ShoalError: Error: no responders" });
  });
});
