import { describe, expect, it } from "vitest";
import type { ShardMapView } from "../cluster/map-view.js";
import type { Membership } from "../cluster/membership.js";
import { OwnershipFence } from "../cluster/owner-fence.js";
import type { ShardMap } from "../cluster/placement.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { silentLogger } from "../src/log.js";
import { turns } from "./support/turns.js";

const map: ShardMap = { version: 3, epoch: 1, shardCount: 1, owners: ["me"] };

/** A membership whose lease the test sets, and whose re-confirmations it answers one by one. */
function fakeMembership() {
  const calls: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const m = {
    lease: true,
    lapses: 0,
    refreshed: 0,
    holdsLease: () => m.lease,
    reconfirm: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
    refreshView: async () => void m.refreshed++,
  };
  return { m, calls };
}

function fence() {
  const { m, calls } = fakeMembership();
  const view = { current: () => map, reread: async () => undefined } as unknown as ShardMapView;
  const f = new OwnershipFence("me", m as unknown as Membership, view, silentLogger);
  return { f, m, calls };
}

const codeOf = (fn: () => void) => {
  try {
    fn();
    return "ok";
  } catch (e) {
    return ShoalError.is(e) ? e.code : String(e);
  }
};

describe("the ownership fence", () => {
  it("refuses every turn while the lease has lapsed, and acts again once re-confirmed and the view refreshed", async () => {
    const { f, m, calls } = fence();
    expect(codeOf(() => f.check("t", "a"))).toBe("ok");
    m.lease = false;
    m.lapses = 1;
    expect(f.lapsed()).toBe(true);
    expect(codeOf(() => f.check("t", "a"))).toBe(ErrorCode.UNAVAILABLE);
    expect(codeOf(() => f.check("t", "a"))).toBe(ErrorCode.UNAVAILABLE);
    expect(calls).toHaveLength(1); // one re-confirmation at a time
    m.lease = true;
    calls[0]!.resolve();
    await turns(5);
    expect(m.refreshed).toBe(1);
    expect(f.lapsed()).toBe(false);
    expect(codeOf(() => f.check("t", "a"))).toBe("ok");
  });

  it("on a reconnect, starts a fresh re-confirmation instead of waiting out one sent before the link dropped", async () => {
    const { f, m, calls } = fence();
    m.lease = false;
    m.lapses = 1;
    expect(codeOf(() => f.check("t", "a"))).toBe(ErrorCode.UNAVAILABLE);
    expect(calls).toHaveLength(1); // its reply went to the connection that is gone: it hangs
    f.reconnected();
    expect(calls).toHaveLength(2);
    // The old one times out while the new one is on its way: the new one is still the one.
    calls[0]!.reject(new Error("timeout"));
    await turns(5);
    expect(codeOf(() => f.check("t", "a"))).toBe(ErrorCode.UNAVAILABLE);
    expect(calls).toHaveLength(2);
    m.lease = true;
    calls[1]!.resolve();
    await turns(5);
    expect(f.lapsed()).toBe(false);
    m.lapses = 2;
    expect(codeOf(() => f.check("t", "a"))).toBe(ErrorCode.UNAVAILABLE);
    expect(calls).toHaveLength(3);
  });

  it("refuses to act after a reconnect, even while the lease holds, until it has re-confirmed", async () => {
    // The server may have dropped the old connection for silence and the crash detector declared
    // this node gone before its lease ran out: requests on the new connection must wait.
    const { f, m, calls } = fence();
    expect(() => f.check("t", "a")).not.toThrow();
    f.reconnected();
    expect(calls).toHaveLength(1);
    expect(codeOf(() => f.check("t", "a"))).toBe(ErrorCode.UNAVAILABLE);
    expect(m.lease).toBe(true);
    calls[0]!.resolve();
    await turns(5);
    expect(() => f.check("t", "a")).not.toThrow();
  });
});
