import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LeaderElection } from "../cluster/election.js";
import type { Kv } from "../cluster/kv.js";
import { ManualClock } from "../src/clock.js";
import { ElectionCluster, MARGIN, RENEW, steppedDown, threeNodes, TTL } from "./support/election-cluster.js";
import { turns } from "./support/turns.js";

describe("LeaderElection", () => {
  it("elects exactly one of three candidates, and keeps it while it renews", async () => {
    const c = await threeNodes();
    const l = c.leader();
    const epoch = l.election.epoch!;
    expect(c.elected).toEqual([{ node: l.id, epoch, at: c.clock.now() }]);
    for (const n of c.nodes.values()) expect(n.election.leader).toEqual({ id: l.id, epoch });
    await c.advance(10 * TTL, 100);
    expect(c.leader()).toBe(l);
    expect(l.election.epoch).toBe(epoch);
    expect(c.elected).toHaveLength(1);
    expect(steppedDown(l)).toEqual([]);
    // Renewals carry the epoch; the create's revision is the epoch.
    const entry = await (await c.admin()).get("leader");
    expect(JSON.parse(new TextDecoder().decode(entry!.value))).toEqual({ id: l.id, epoch });
    expect(entry!.revision).toBeGreaterThan(epoch);
    expect(c.violations).toEqual([]);
  });

  it("steps down at once when a renewal fails, before anyone else is elected", async () => {
    const c = await threeNodes();
    const l = c.leader();
    const epoch = l.election.epoch!;
    const t0 = c.clock.now();
    await c.advance(1500); // renewed at t0 + 1000
    c.backend.cut(l.id);
    await c.advance(500); // the renewal at t0 + 2000 fails
    expect(c.clock.now()).toBe(t0 + 2000);
    expect(steppedDown(l)).toEqual([{ kind: "stepped-down", epoch, reason: expect.stringContaining("UNAVAILABLE") }]);
    expect(l.election.isLeader()).toBe(false);
    expect(c.elected).toHaveLength(1);
    await c.advance(TTL);
    // The others take over TTL after they saw the last renewal (t0 + 1000), not before.
    const next = c.leader();
    expect(next).not.toBe(l);
    expect(c.elected[1]!.at).toBeGreaterThanOrEqual(t0 + 1000 + TTL);
    expect(c.elected[1]!.epoch).toBeGreaterThan(c.elected[0]!.epoch);
    // Healed, the old leader is a follower that knows the new leader and its higher epoch.
    c.backend.heal(l.id);
    await c.advance(2 * TTL);
    expect(c.leader()).toBe(next);
    expect(l.election.isLeader()).toBe(false);
    expect(l.election.epoch).toBeUndefined();
    expect(l.election.leader).toEqual({ id: next.id, epoch: c.elected[1]!.epoch });
    expect(c.violations).toEqual([]);
  });

  it("a paused leader's lease ends at its deadline even though none of its timers ran", async () => {
    const c = await threeNodes();
    const l = c.leader();
    const epoch = l.election.epoch!;
    const t0 = c.clock.now();
    c.pause(l.id); // its last (and only) lease write was sent at t0
    while (c.clock.now() < t0 + 2 * TTL) {
      expect(l.election.isLeader()).toBe(c.clock.now() < t0 + TTL - MARGIN);
      await c.advance(50);
    }
    expect(steppedDown(l)).toEqual([]); // no timer of its own has run
    const next = c.leader();
    expect(c.elected[1]!.at).toBeGreaterThanOrEqual(t0 + TTL);
    expect(l.election.isLeader()).toBe(false);
    await c.resume(l.id);
    expect(l.election.isLeader()).toBe(false);
    expect(steppedDown(l)).toHaveLength(1);
    await c.advance(2 * TTL);
    expect(c.leader()).toBe(next);
    expect(l.election.leader).toEqual({ id: next.id, epoch: next.election.epoch });
    expect(next.election.epoch!).toBeGreaterThan(epoch);
    expect(c.violations).toEqual([]);
  });

  it("measures the lease from when the create was sent, not from its reply", async () => {
    const c = new ElectionCluster();
    for (const id of ["a", "b", "c"]) await c.start(id, 400);
    const t0 = c.clock.now();
    await c.advance(850); // creates applied at t0 + 400, answered at t0 + 800
    const l = c.leader();
    c.pause(l.id);
    for (const n of c.nodes.values()) n.lag = 0;
    await c.advance(TTL + 1000);
    expect(c.elected[1]!.at).toBeGreaterThanOrEqual(t0 + 400 + TTL);
    expect(c.violations).toEqual([]);
  });

  it("measures the lease from when the renewal was sent, not from its reply", async () => {
    const c = await threeNodes();
    const l = c.leader();
    const t0 = c.clock.now();
    l.lag = 400; // the renewal sent at t0 + 1000 lands at t0 + 1400, its reply at t0 + 1800
    await c.advance(1850);
    c.pause(l.id);
    await c.advance(TTL + 1000);
    expect(c.elected[1]!.at).toBeGreaterThanOrEqual(t0 + 1400 + TTL);
    expect(c.violations).toEqual([]);
  });

  it("nodes whose watches lag take over a crashed leader once, and keep the lead", async () => {
    const c = await threeNodes();
    const first = c.leader();
    for (const n of c.nodes.values()) n.watchLag = 500;
    c.pause(first.id); // crashed: the others take over after the TTL
    await c.advance(TTL + 2000);
    const next = c.leader();
    await c.advance(3 * TTL);
    expect(c.leader()).toBe(next);
    expect(steppedDown(next)).toEqual([]);
    expect(c.violations).toEqual([]);
  });

  it("a restarted process does not take over the key its previous (maybe only paused) process holds", async () => {
    const c = await threeNodes();
    const old = c.leader();
    const t = c.clock.now();
    c.pause(old.id);
    const fresh = await c.start(old.id, 0, `${old.id}-2`);
    await turns();
    expect(fresh.election.isLeader()).toBe(false);
    expect(fresh.election.leader).toEqual({ id: old.id, epoch: old.election.epoch });
    await c.advance(TTL + 500);
    c.leader();
    expect(c.elected[1]!.at).toBeGreaterThanOrEqual(t + TTL);
    expect(c.violations).toEqual([]);
  });

  it("a winner whose watch reports older changes after its create's reply keeps the lead", async () => {
    const c = new ElectionCluster();
    const a = await c.start("a");
    const b = await c.start("b");
    await turns();
    expect(c.leader()).toBe(a);
    b.watchLag = 3000; // b hears of everything 3 s late
    await c.advance(TTL + 500); // b's takeover at t0 + 3000 fails (a renewed); b reads the key instead
    await c.stop("a"); // b hears of the delete at t0 + 6500
    await c.advance(TTL - 500);
    expect(c.leader()).toBe(b); // won at t0 + 6000 by its own timer, first renewal due at t0 + 7000
    await c.advance(3 * TTL);
    expect(c.leader()).toBe(b);
    expect(steppedDown(b)).toEqual([]);
    expect(c.violations).toEqual([]);
  });

  it("a crashed leader is replaced within leaderTtl", async () => {
    const c = await threeNodes();
    await c.advance(2500);
    const l = c.leader();
    const crashedAt = c.clock.now();
    c.pause(l.id); // never resumed
    await c.advance(TTL + 200);
    expect(c.leader()).not.toBe(l);
    expect(c.elected[1]!.at - crashedAt).toBeLessThanOrEqual(TTL);
    expect(c.violations).toEqual([]);
  });

  it("presumeGone() of a crashed leader lets a candidate take over at once, with a higher epoch, and only one", async () => {
    const c = await threeNodes();
    await c.advance(2500);
    const l = c.leader();
    const epoch = l.election.epoch!;
    c.crash(l.id); // its connection is gone, as the failure detector found
    const t = c.clock.now();
    for (const n of c.nodes.values()) if (n !== l) n.election.presumeGone(l.id);
    await turns();
    await c.advance(100);
    const next = c.leader();
    expect(next).not.toBe(l);
    expect(c.elected[1]!.at - t).toBeLessThan(100);
    expect(next.election.epoch!).toBeGreaterThan(epoch);
    expect(c.elected).toHaveLength(2);
    expect(c.violations).toEqual([]);
  });

  it("presumeGone() of a live leader, or of a node that does not lead, takes nothing over", async () => {
    const c = await threeNodes();
    await c.advance(2500);
    const l = c.leader();
    const others = [...c.nodes.values()].filter((n) => n !== l);
    // A false suspicion: the leader renewed after what the candidates saw, so the CAS delete fails.
    others[0]!.watchLag = 2000;
    await c.advance(1500); // a renewal the lagging node has not seen yet
    others[0]!.election.presumeGone(l.id);
    others[1]!.election.presumeGone(others[0]!.id);
    await c.advance(TTL);
    expect(c.leader()).toBe(l);
    expect(c.elected).toHaveLength(1);
    expect(steppedDown(l)).toEqual([]);
    expect(c.violations).toEqual([]);
  });

  it("a gracefully stopped leader deletes its key, so another wins without waiting for the TTL", async () => {
    const c = await threeNodes();
    await c.advance(5000);
    const l = c.leader();
    const epoch = l.election.epoch!;
    const t = c.clock.now();
    await c.stop(l.id);
    expect(steppedDown(l)).toEqual([{ kind: "stepped-down", epoch, reason: "stopped" }]);
    await turns();
    const next = c.leader();
    expect(next).not.toBe(l);
    expect(c.clock.now()).toBe(t);
    expect(next.election.epoch!).toBeGreaterThan(epoch);
  });

  it("candidates that just lost a race still try at once when the key is freed", async () => {
    const c = new ElectionCluster();
    await Promise.all(["a", "b", "c"].map((id) => c.start(id))); // all three create; two fail
    await turns();
    const l = c.leader();
    await c.stop(l.id);
    await turns();
    expect(c.leader()).not.toBe(l);
    expect(c.elected[1]!.at).toBe(c.elected[0]!.at);
  });

  it("candidates that just lost a race take over at once when presumeGone() says the winner crashed", async () => {
    const c = new ElectionCluster();
    await Promise.all(["a", "b", "c"].map((id) => c.start(id))); // all three create; two fail and back off
    await turns();
    const l = c.leader();
    await c.advance(100);
    c.crash(l.id);
    const t = c.clock.now();
    for (const n of c.nodes.values()) if (n !== l) n.election.presumeGone(l.id);
    await turns();
    await c.advance(100);
    expect(c.leader()).not.toBe(l);
    expect(c.elected).toHaveLength(2);
    expect(c.elected[1]!.at - t).toBeLessThan(100); // not after the lost race's back-off (RENEW)
    expect(c.violations).toEqual([]);
  });

  it("after stepDown() a node holds off for a renew interval, so others can win first", async () => {
    const c = new ElectionCluster();
    const a = await c.start("a");
    await turns();
    const t = c.clock.now();
    a.election.stepDown("test");
    await c.advance(RENEW - 50);
    expect(c.leaders()).toEqual([]);
    await c.advance(50);
    expect(c.leader()).toBe(a);
    expect(c.elected[1]!.at).toBe(t + RENEW);
  });

  it("stepDown() ends leadership synchronously and frees the key for another node", async () => {
    const c = await threeNodes();
    await c.advance(5000);
    const l = c.leader();
    const epoch = l.election.epoch!;
    const t = c.clock.now();
    l.election.stepDown("fenced write refused");
    expect(l.election.isLeader()).toBe(false);
    expect(steppedDown(l)).toEqual([{ kind: "stepped-down", epoch, reason: "fenced write refused" }]);
    await turns();
    const next = c.leader();
    expect(next).not.toBe(l);
    expect(c.clock.now()).toBe(t);
    expect(next.election.epoch!).toBeGreaterThan(epoch);
    await c.advance(3 * TTL);
    expect(c.leader()).toBe(next);
    expect(c.violations).toEqual([]);
  });

  it("steps down when its key is deleted or overwritten behind its back; an unreadable key is taken over after the TTL", async () => {
    const c = await threeNodes();
    const admin = await c.admin();
    const first = c.leader();
    await admin.delete("leader");
    await turns();
    expect(steppedDown(first)[0]?.reason).toMatch(/deleted/);
    const second = c.leader();
    expect(c.clock.now()).toBe(c.elected[0]!.at);
    const t = c.clock.now();
    await admin.put("leader", new TextEncoder().encode("not json"));
    await turns();
    expect(steppedDown(second).at(-1)?.reason).toMatch(/taken/);
    expect(c.leaders()).toEqual([]);
    for (const n of c.nodes.values()) expect(n.election.leader).toBeUndefined();
    await c.advance(TTL + RENEW);
    c.leader();
    expect(c.elected.at(-1)!.at).toBeGreaterThanOrEqual(t + TTL);
    expect(c.violations).toEqual([]);
  });

  it("rejects a renew interval that does not fit in the lease", () => {
    const kv = {} as Kv;
    const clock = new ManualClock();
    expect(() => new LeaderElection({ kv, nodeId: "a", clock, leaderTtl: 3000, renewInterval: 2800 })).toThrow(RangeError);
  });

  it("randomized faults: never two leaders, epochs unique and increasing, and a leader once all is well", async () => {
    const ids = ["a", "b", "c"];
    const node = fc.integer({ min: 0, max: ids.length - 1 });
    const action = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 2 * TTL }), slices: fc.integer({ min: 1, max: 30 }) }),
      },
      fc.record({ kind: fc.constant("cut" as const), node }),
      fc.record({ kind: fc.constant("heal" as const), node }),
      fc.record({ kind: fc.constant("stop" as const), node }),
      fc.record({ kind: fc.constant("start" as const), node }),
      fc.record({ kind: fc.constant("stepDown" as const), node }),
      fc.record({ kind: fc.constant("pause" as const), node }),
      fc.record({ kind: fc.constant("resume" as const), node }),
      fc.record({ kind: fc.constant("lag" as const), node, ms: fc.constantFrom(0, 100, 400, 1200, 1500) }),
      fc.record({ kind: fc.constant("watchLag" as const), node, ms: fc.constantFrom(0, 300, 2000) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 10, maxLength: 60 }), async (actions) => {
        const c = new ElectionCluster();
        const cut = new Set<string>();
        for (const id of ids) await c.start(id);
        await turns();
        for (const a of actions) {
          if (a.kind === "advance") {
            // One slice: replies are held back while the clock jumps (slow server); many: they arrive.
            await c.advance(a.ms, Math.ceil(a.ms / a.slices));
            continue;
          }
          const id = ids[a.node]!;
          const n = c.nodes.get(id)!;
          if (a.kind === "cut") {
            cut.add(id);
            c.backend.cut(id);
          }
          if (a.kind === "heal" && !n.paused) {
            cut.delete(id);
            c.backend.heal(id);
          }
          if (a.kind === "stop" && n.running) void c.stop(id);
          if (a.kind === "start" && !n.running && !cut.has(id) && !n.paused) await c.start(id);
          if (a.kind === "stepDown" && !n.paused) n.election.stepDown("test");
          if (a.kind === "pause" && !n.paused) c.pause(id);
          if (a.kind === "resume" && n.paused) {
            cut.delete(id);
            await c.resume(id);
          }
          if (a.kind === "lag") n.lag = a.ms;
          if (a.kind === "watchLag") n.watchLag = a.ms;
          await turns();
          c.check();
        }
        expect(c.violations).toEqual([]);
        const epochs = c.elected.map((e) => e.epoch);
        for (let i = 1; i < epochs.length; i++) expect(epochs[i]!).toBeGreaterThan(epochs[i - 1]!);
        // Liveness: with every node back, one leader emerges and everyone knows it.
        for (const n of c.nodes.values()) {
          if (n.paused) await c.resume(n.id);
          c.backend.heal(n.id);
          n.lag = n.watchLag = 0;
        }
        for (const id of ids) if (!c.nodes.get(id)!.running) await c.start(id);
        await c.advance(2 * TTL + RENEW, 100);
        const l = c.leader();
        for (const n of c.nodes.values()) expect(n.election.leader).toEqual({ id: l.id, epoch: l.election.epoch });
        expect(c.violations).toEqual([]);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
