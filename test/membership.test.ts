import { describe, expect, it } from "vitest";
import { MemoryKvBackend } from "../cluster/kv-memory.js";
import type { Kv } from "../cluster/kv.js";
import { type MemberRecord, Membership, type MembershipChange } from "../cluster/membership.js";
import { ManualClock } from "../src/clock.js";
import { encodeToken } from "../src/codec/token.js";
import type { Logger } from "../src/log.js";
import { turns } from "./support/turns.js";

const HEARTBEAT = 1000;
const TTL = 3000;
const te = new TextEncoder();

interface TestNode {
  m: Membership;
  changes: MembershipChange[];
  warnings: unknown[][];
}

class Cluster {
  readonly clock = new ManualClock();
  readonly backend = new MemoryKvBackend(this.clock);

  constructor(private readonly bucketTtl = TTL) {}

  async node(id: string, extra: Partial<MemberRecord> = {}): Promise<TestNode> {
    const kv = await this.backend.provider(id).bucket("members", { ttl: this.bucketTtl });
    const warnings: unknown[][] = [];
    const logger = { child: () => logger, warn: (...a: unknown[]) => warnings.push(a), debug() {}, info() {}, error() {} };
    const self: MemberRecord = { id, weight: 1, state: "joining", startedAt: this.clock.now(), ...extra };
    const m = new Membership({ kv, clock: this.clock, self, heartbeatInterval: HEARTBEAT, memberTtl: TTL, logger: logger as unknown as Logger });
    const changes: MembershipChange[] = [];
    m.onChange((c) => changes.push(c));
    return { m, changes, warnings };
  }

  async started(id: string, extra: Partial<MemberRecord> = {}): Promise<TestNode> {
    const n = await this.node(id, extra);
    await n.m.start();
    await turns();
    return n;
  }

  admin(): Promise<Kv> {
    return this.backend.provider("admin").bucket("members", { ttl: this.bucketTtl });
  }

  async advance(ms: number, step = 100): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      this.clock.advance(Math.min(step, ms - done));
      await turns();
    }
  }
}

const ids = (n: TestNode) => n.m.records().map((r) => r.id);
const record = (r: MemberRecord) => te.encode(JSON.stringify(r));

describe("Membership", () => {
  it("reports joins, including the initial view with itself, sorted by id", async () => {
    const c = new Cluster();
    const b = await c.started("b");
    expect(b.changes).toEqual([{ joined: [b.m.self], left: [], updated: [] }]);
    const a = await c.started("a", { weight: 2, meta: { http: "8080" } });
    expect(a.changes).toEqual([{ joined: [a.m.self, b.m.self], left: [], updated: [] }]);
    expect(b.changes[1]).toEqual({ joined: [a.m.self], left: [], updated: [] });
    expect(ids(a)).toEqual(["a", "b"]);
    expect(ids(b)).toEqual(["a", "b"]);
    expect(b.m.members()).toEqual([
      { id: "a", weight: 2, state: "joining" },
      { id: "b", weight: 1, state: "joining" },
    ]);
    expect(b.m.records()[0]!.meta).toEqual({ http: "8080" });
  });

  it("heartbeats keep members alive without reporting them as updated", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.started("b");
    await c.advance(10 * TTL);
    expect(ids(a)).toEqual(["a", "b"]);
    expect(a.changes).toHaveLength(2);
    expect(b.changes).toHaveLength(1);
  });

  it("a state change is seen at once here and on the next watch delivery elsewhere", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.started("b");
    await b.m.setState("active");
    expect(b.m.self.state).toBe("active");
    expect(b.changes.at(-1)).toEqual({ joined: [], left: [], updated: [b.m.self] });
    await turns();
    expect(a.changes.at(-1)).toEqual({ joined: [], left: [], updated: [b.m.self] });
    expect(a.m.members().find((m) => m.id === "b")?.state).toBe("active");
    await b.m.setState("active"); // no change, no event
    await turns();
    expect(a.changes).toHaveLength(3);
  });

  it("a graceful stop deletes the record, so the others see the node leave at once", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.started("b");
    await b.m.stop();
    await turns();
    expect(a.changes.at(-1)).toEqual({ joined: [], left: ["b"], updated: [] });
    expect(ids(a)).toEqual(["a"]);
    expect(await (await c.admin()).keys()).toEqual([encodeToken("a")]);
  });

  it("declareGone() removes a member at once everywhere, without waiting for memberTtl", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    await c.started("b");
    const x = await c.started("x");
    c.backend.cut("b"); // crashed: its record stays until it ages out
    const t = c.clock.now();
    expect(await a.m.declareGone("b")).toBe(true);
    expect(a.changes.at(-1)).toEqual({ joined: [], left: ["b"], updated: [] });
    await turns();
    expect(c.clock.now()).toBe(t);
    expect(ids(a)).toEqual(["a", "x"]);
    expect(ids(x)).toEqual(["a", "x"]); // heard on the watch
    expect(x.changes.at(-1)).toEqual({ joined: [], left: ["b"], updated: [] });
    expect(await a.m.declareGone("b")).toBe(false); // no longer in the view: nothing to do
    expect(await a.m.declareGone("a")).toBe(false); // never itself
  });

  it("declareGone() keeps a member whose record changed since the view saw it (it is alive)", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.started("b");
    const admin = await c.admin();
    // b's next heartbeat reached the KV, but a's watch has not delivered it yet.
    const stale = (a.m as unknown as { view: Map<string, { revision: number }> }).view.get(encodeToken("b"))!;
    await admin.put(encodeToken("b"), record(b.m.self));
    (a.m as unknown as { view: Map<string, { revision: number }> }).view.set(encodeToken("b"), stale as never);
    expect(await a.m.declareGone("b")).toBe(false);
    await turns();
    expect(ids(a)).toEqual(["a", "b"]);
    expect(await admin.keys()).toContain(encodeToken("b"));
  });

  it("a node declared gone loses its lease at once, counts a lapse and rejoins with its next heartbeat", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.started("b");
    expect(b.m.holdsLease()).toBe(true);
    const lapses = b.m.lapses;
    c.backend.cut("b"); // b's heartbeat cannot land before it hears of the delete
    expect(await a.m.declareGone("b")).toBe(true);
    c.backend.heal("b");
    // b hears of its own record's deletion: no more acting as an owner until it re-confirms.
    await new Promise((r) => setImmediate(r));
    expect(b.m.lapses).toBe(lapses + 1);
    await turns();
    expect(b.warnings.some((w) => JSON.stringify(w).includes("declared gone"))).toBe(true);
    // The heartbeat it sent at once put the record back: a sees it join again, b holds its lease.
    expect(a.changes.at(-1)).toEqual({ joined: [b.m.self], left: [], updated: [] });
    expect(b.m.holdsLease()).toBe(true);
  });

  it("a node whose heartbeats stop reaching the KV is swept out after memberTtl, and rejoins when they resume", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.started("b");
    await c.advance(1000); // b's last heartbeat that gets through: now
    const lastSeen = c.clock.now();
    c.backend.cut("b");
    await c.advance(TTL - 100);
    expect(ids(a)).toEqual(["a", "b"]);
    await c.advance(HEARTBEAT + 100);
    expect(a.changes.at(-1)).toEqual({ joined: [], left: ["b"], updated: [] });
    expect(ids(a)).toEqual(["a"]);
    expect(c.clock.now() - lastSeen).toBeLessThanOrEqual(TTL + HEARTBEAT);
    expect(b.warnings.some((w) => String(w[1]).includes("heartbeat failed"))).toBe(true);
    expect(ids(b)).toContain("b"); // a node always sees itself
    c.backend.heal("b");
    await c.advance(HEARTBEAT);
    expect(a.changes.at(-1)).toEqual({ joined: [b.m.self], left: [], updated: [] });
  });

  it("a stale record in the initial view counts from when it was received and is swept if not refreshed", async () => {
    const c = new Cluster(0); // a server without per-key TTL keeps dead records
    const admin = await c.admin();
    const ghost: MemberRecord = { id: "ghost", weight: 1, state: "active", startedAt: c.clock.now() };
    await admin.put(encodeToken("ghost"), record(ghost));
    await c.advance(5 * TTL, 1000);
    const a = await c.started("a");
    expect(a.changes[0]).toEqual({ joined: [a.m.self, ghost], left: [], updated: [] });
    await c.advance(TTL + HEARTBEAT);
    expect(a.changes.at(-1)).toEqual({ joined: [], left: ["ghost"], updated: [] });
  });

  it("ignores records that do not decode, do not validate or sit under another id's key", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const admin = await c.admin();
    const good: MemberRecord = { id: "z", weight: 1, state: "active", startedAt: 1 };
    await admin.put(encodeToken("x"), te.encode("{not json"));
    await admin.put(encodeToken("y"), new Uint8Array([0xff, 0xfe]));
    await admin.put(encodeToken("w"), record({ ...good, id: "w", weight: -1 }));
    await admin.put(encodeToken("v"), record({ ...good, id: "v", state: "gone" as "active" }));
    await admin.put(encodeToken("u"), record({ ...good, id: "u", meta: { port: 1 as unknown as string } }));
    await admin.put(encodeToken("x"), record(good)); // id z under x's key
    await turns();
    expect(ids(a)).toEqual(["a"]);
    expect(a.changes).toHaveLength(1);
    expect(a.warnings).toHaveLength(6);
    await admin.put(encodeToken("z"), record(good));
    await admin.put(encodeToken("z"), record({ ...good, weight: 3 }));
    await turns();
    expect(a.changes.slice(1)).toEqual([
      { joined: [good], left: [], updated: [] },
      { joined: [], left: [], updated: [{ ...good, weight: 3 }] },
    ]);
    const b = await c.started("b"); // the initial view skips them as well
    expect(ids(b)).toEqual(["a", "b", "z"]);
  });

  it("keys are encoded ids, so any string works as a node id", async () => {
    const c = new Cluster();
    const odd = await c.started("node.1 *>/é");
    const a = await c.started("a");
    expect(await (await c.admin()).keys()).toContain(encodeToken("node.1 *>/é"));
    expect(ids(a)).toEqual(["a", "node.1 *>/é"]);
    await odd.m.stop();
    await turns();
    expect(a.changes.at(-1)?.left).toEqual(["node.1 *>/é"]);
  });

  it("start rejects while the KV is unreachable and can be retried; a failed setState keeps the state for the next heartbeat", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    const b = await c.node("b");
    c.backend.cut("b");
    await expect(b.m.start()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    c.backend.heal("b");
    await b.m.start();
    await turns();
    expect(ids(a)).toEqual(["a", "b"]);
    c.backend.cut("b");
    await expect(b.m.setState("draining")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(b.m.self.state).toBe("draining");
    c.backend.heal("b");
    await c.advance(HEARTBEAT);
    expect(a.m.members().find((m) => m.id === "b")?.state).toBe("draining");
  });

  it("a throwing listener does not stop the others; unsubscribing works", async () => {
    const c = new Cluster();
    const a = await c.started("a");
    a.m.onChange(() => {
      throw new Error("boom");
    });
    const seen: MembershipChange[] = [];
    const off = a.m.onChange((ch) => seen.push(ch));
    await c.started("b");
    expect(seen).toHaveLength(1);
    expect(a.changes).toHaveLength(2);
    off();
    await c.started("c");
    expect(seen).toHaveLength(1);
  });

  it("rejects bad options", async () => {
    const c = new Cluster();
    const kv = await c.admin();
    const self: MemberRecord = { id: "a", weight: 1, state: "active", startedAt: 0 };
    const opts = { kv, clock: c.clock, self, heartbeatInterval: HEARTBEAT, memberTtl: TTL };
    expect(() => new Membership({ ...opts, heartbeatInterval: TTL })).toThrow(RangeError);
    expect(() => new Membership({ ...opts, self: { ...self, weight: 0 } })).toThrow(RangeError);
  });

  it("holds a lease from each heartbeat's send time, and counts a lapse when a heartbeat comes too late", async () => {
    const c = new Cluster();
    const a = await c.node("a");
    expect(a.m.holdsLease()).toBe(false); // not started: no lease
    await a.m.start();
    expect(a.m.holdsLease()).toBe(true);
    expect(a.m.lapses).toBe(0);
    for (let i = 0; i < 5; i++) {
      c.clock.advance(HEARTBEAT);
      await turns();
    }
    expect(a.m.holdsLease()).toBe(true); // regular heartbeats keep it
    expect(a.m.lapses).toBe(0);
    // A long pause: no timer runs, the lease runs out on the clock alone.
    c.backend.cut("a");
    c.clock.advance(TTL);
    expect(a.m.holdsLease()).toBe(false);
    c.backend.heal("a");
    await a.m.reconfirm(); // the heartbeat after the pause renews the lease…
    expect(a.m.holdsLease()).toBe(true);
    expect(a.m.lapses).toBe(1); // …but says it had lapsed, so the node re-reads the map first
  });

  it("notices a silent watch by its own missing heartbeat echo and re-reads the bucket before sweeping anyone", async () => {
    const c = new Cluster();
    const a = await c.node("a");
    const b = await c.node("b");
    await a.m.start();
    await b.m.start();
    await turns();
    expect(a.m.records().map((r) => r.id)).toEqual(["a", "b"]);
    // The watch goes silent (its consumer's server died) while the KV itself still works.
    (a.m as unknown as { watcher: { stop(): void } }).watcher.stop();
    const before = a.changes.length;
    for (let i = 0; i < 8; i++) {
      c.clock.advance(HEARTBEAT);
      await turns();
    }
    expect(a.m.records().map((r) => r.id)).toEqual(["a", "b"]); // b was never swept
    expect(a.changes.slice(before).some((ch) => ch.left.includes("b"))).toBe(false);
    expect(a.warnings.some((w) => JSON.stringify(w).includes("watch is silent"))).toBe(true);
  });
});
