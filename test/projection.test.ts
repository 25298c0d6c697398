import { describe, expect, it } from "vitest";
import { backoffMs } from "../cluster/projections/attempts.js";
import { journalAddress } from "../cluster/projections/journal-batch.js";
import { readWhole, wholeTypes } from "../cluster/projections/read-filter.js";
import { account } from "../src/actors/account.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { defineProjection } from "../src/projection/define.js";
import { parseViewKey, viewKey } from "../src/projection/layout.js";
import { partitionOf, partitionShard, tenantOf } from "../src/projection/partition.js";
import { balanceDelta } from "../src/projections/account-balances.js";
import { actorHash } from "../src/routing/shard-hash.js";

const handle = () => undefined;
const badRequest = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return ShoalError.is(err) && err.code === ErrorCode.BAD_REQUEST ? err.message : `not BAD_REQUEST: ${String(err)}`;
  }
  return "did not throw";
};

describe("defineProjection", () => {
  it("reads types as journal filters and fills in the defaults", () => {
    const p = defineProjection({ name: "p", from: [account, "other"], handle });
    expect(p).toMatchObject({ kind: "projection", name: "p", subjects: ["account.*", "other.*"], partitions: { count: 1, by: "actor" } });
    expect(p.onFailure).toEqual({ retries: 5, backoff: 100, maxBackoff: 5000, action: "dead-letter" });
    expect(defineProjection({ name: "q", from: { subjects: ["*.*", "account.YWxpY2U"] }, handle, partitions: { count: 8, by: "tenant" } })).toMatchObject({
      subjects: ["*.*", "account.YWxpY2U"],
      partitions: { count: 8, by: "tenant" },
    });
  });

  it("refuses what cannot work, with BAD_REQUEST", () => {
    expect(badRequest(() => defineProjection({ name: "a b", from: [account], handle }))).toMatch(/name must match/);
    expect(badRequest(() => defineProjection({ name: "p", from: [], handle }))).toMatch(/names no actor type/);
    const mem = { kind: "in-memory", type: "mem" };
    expect(badRequest(() => defineProjection({ name: "p", from: [mem as never], handle }))).toMatch(/not event-sourced/);
    expect(badRequest(() => defineProjection({ name: "p", from: { subjects: ["shoal.x.>"] }, handle }))).toMatch(/subject filter/);
    expect(badRequest(() => defineProjection({ name: "p", from: [account], handle, partitions: 0 }))).toMatch(/from 1 to 1024/);
    expect(badRequest(() => defineProjection({ name: "p", from: [account], handle, partitions: 1025 }))).toMatch(/from 1 to 1024/);
    expect(badRequest(() => defineProjection({ name: "p", from: [account], handle, onFailure: { retries: -1 } }))).toMatch(/retries/);
    expect(badRequest(() => defineProjection({ name: "p", from: [account], handle, onFailure: { action: "retry" as never } }))).toMatch(/action must be/);
  });
});

describe("partitions", () => {
  it("puts one actor's events in one partition, by actor, tenant or key", () => {
    expect(partitionOf("actor", 8, "account", "alice")).toBe(actorHash("account", "alice") % 8);
    expect(tenantOf("acme/alice")).toBe("acme");
    expect(tenantOf("solo")).toBe("solo");
    expect(partitionOf("tenant", 8, "account", "acme/alice")).toBe(partitionOf("tenant", 8, "order", "acme/o-1"));
    expect(partitionOf((_t, id) => id.slice(-1), 16, "a", "x1")).toBe(partitionOf((_t, id) => id.slice(-1), 16, "b", "y1"));
    expect(partitionOf("actor", 1, "account", "anything")).toBe(0);
  });

  it("spreads by actor over every partition", () => {
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[partitionOf("actor", 4, "account", `a-${i}`)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it("places a projection's partitions on evenly spaced shards", () => {
    const shards = Array.from({ length: 4 }, (_, k) => partitionShard("p", k, 4, 64));
    expect(new Set(shards).size).toBe(4);
    const sorted = [...shards].sort((a, b) => a - b);
    const gaps = sorted.map((s, i) => (sorted[(i + 1) % 4]! - s + 64) % 64);
    expect(gaps).toEqual([16, 16, 16, 16]);
    expect(partitionShard("p", 0, 4, 64)).not.toBe(partitionShard("q", 0, 4, 64));
  });
});

describe("layout and decoding", () => {
  it("keeps view keys as tokens: data never becomes a subject token raw", () => {
    expect(viewKey(2, "a.b*c>d e")).toBe(`b2.v.${Buffer.from("a.b*c>d e").toString("base64url")}`);
    expect(parseViewKey(2, viewKey(2, "ü/x"))).toBe("ü/x");
    expect(parseViewKey(1, viewKey(2, "x"))).toBeUndefined();
    expect(parseViewKey(2, "b2.v.!!")).toBeUndefined();
  });

  it("reads the actor of a journal subject and nothing else", () => {
    const prefix = "shoal.c.journal.";
    expect(journalAddress(`${prefix}account.${Buffer.from("a.b").toString("base64url")}`, prefix.length)).toEqual({ type: "account", id: "a.b" });
    expect(journalAddress(`${prefix}account`, prefix.length)).toBeUndefined();
    expect(journalAddress(`${prefix}account.a.b`, prefix.length)).toBeUndefined();
    expect(journalAddress(`${prefix}9bad.YQ`, prefix.length)).toBeUndefined();
    expect(journalAddress(`${prefix}account.YQ=`, prefix.length)).toBeUndefined();
  });

  it("backs off exponentially up to the cap", () => {
    const policy = { retries: 10, backoff: 100, maxBackoff: 1000, action: "skip" as const };
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffMs(policy, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("folds account events into balances", () => {
    expect(balanceDelta({ deposited: { amount: 5, txn: "a" } })).toBe(5);
    expect(balanceDelta({ withdrew: { amount: 3, txn: "b" } })).toBe(-3);
    expect(balanceDelta({ transferred: { to: "x", amount: 2, txn: "c" } })).toBe(-2);
    expect(balanceDelta({ credited: { from: "x", amount: 7, txn: "d" } })).toBe(7);
  });
});

describe("read filter", () => {
  it("reads the whole journal only for whole-type projections whose batches are a quarter of a backlog or more", () => {
    expect([...wholeTypes(["account.*", "order.*"])!]).toEqual(["account", "order"]);
    expect(wholeTypes(["account.YWxpY2U"])).toBeUndefined();
    expect(wholeTypes(["*.*"])).toBeUndefined();
    expect(wholeTypes([">"])).toBeUndefined();
    expect(readWhole(25, 100)).toBe(true);
    expect(readWhole(24, 100)).toBe(false);
    expect(readWhole(0, 0)).toBe(false); // no backlog: the server filters what comes live
  });
});
