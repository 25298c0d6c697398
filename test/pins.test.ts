import { describe, expect, it } from "vitest";
import { checkPin, layoutPins, pinOwner, plan, samePins, type Member, type ShardGroup, type TenantPin } from "../cluster/internal.js";
import { decodeMap, defaultTenant, encodeMap, shardIn, shardOf } from "../cluster/internal.js";

const S = 16;
const node = (id: string, roles?: string[]): Member => (roles === undefined ? { id, weight: 1, state: "active" } : { id, weight: 1, state: "active", roles });

describe("layoutPins", () => {
  it("gives newly pinned tenants the next shards in (type, tenant) order, and keeps every shard for good", () => {
    const first = layoutPins(
      [],
      [
        { type: "b", tenant: "x", node: "n1" },
        { type: "a", tenant: "z", role: "eu" },
      ],
      S,
    );
    expect(first.pins).toEqual([
      { type: "a", tenant: "z", shard: S, role: "eu" },
      { type: "b", tenant: "x", shard: S + 1, node: "n1" },
    ]);
    // Unpinned: the tenant keeps its shard, pointing nowhere; a new pin goes after.
    const next = layoutPins(
      first.pins,
      [
        { type: "b", tenant: "x", node: "n2" },
        { type: "c", tenant: "q", node: "n3" },
      ],
      S + 2,
    );
    expect(next.pins).toEqual([
      { type: "a", tenant: "z", shard: S },
      { type: "b", tenant: "x", shard: S + 1, node: "n2" },
      { type: "c", tenant: "q", shard: S + 2, node: "n3" },
    ]);
    expect(
      samePins(
        next.pins,
        next.pins.map((p) => ({ ...p })),
      ),
    ).toBe(true);
    expect(samePins(first.pins, next.pins)).toBe(false);
  });
});

describe("checkPin", () => {
  it("takes a type, a tenant and one of node and role", () => {
    expect(checkPin({ type: "account", tenant: "acme", node: "n1" })).toEqual({ type: "account", tenant: "acme", node: "n1" });
    for (const bad of [
      { type: "account", tenant: "acme" },
      { type: "account", tenant: "acme", node: "n1", role: "eu" },
      { type: "a.b", tenant: "acme", node: "n1" },
      { type: "account", tenant: "", node: "n1" },
      { type: "account", tenant: "x".repeat(513), node: "n1" },
      { type: "account", tenant: "acme", role: "e u" },
      null,
    ]) {
      expect(() => checkPin(bad)).toThrow(TypeError);
    }
  });
});

describe("pinOwner", () => {
  const members = [node("n1"), node("n2", ["eu"]), node("n3", ["eu"])];
  const pin = (p: Partial<TenantPin>): TenantPin => ({ type: "account", tenant: "acme", shard: S, ...p });
  it("is the pinned node, one of the role's nodes (sticky), or — fallen back — any node that may host the type", () => {
    expect(pinOwner(pin({ node: "n1" }), members, [], null)).toBe("n1");
    expect(["n2", "n3"]).toContain(pinOwner(pin({ role: "eu" }), members, [], null));
    expect(pinOwner(pin({ role: "eu" }), members, [], "n3")).toBe("n3");
    expect(pinOwner(pin({ node: "gone" }), members, [], "n2")).toBe("n2"); // stays where it is
    expect(pinOwner(pin({ node: "gone" }), [], [], "n2")).toBeNull();
  });
  it("never leaves the type's role group", () => {
    const gpu: ShardGroup = { roles: ["gpu"], types: ["account"], base: S, size: S };
    const all = [node("n1"), node("g1", ["gpu"])];
    expect(pinOwner(pin({ node: "n1", shard: 2 * S }), all, [gpu], null)).toBe("g1");
  });
});

describe("tenant shards in the map and in routing", () => {
  it("routes a pinned tenant's actors to its shard, others by the hash, and survives the wire", () => {
    const members = [node("n1"), node("n2")];
    const base = plan(undefined, members, { shardCount: S }).map;
    const p = plan(base, members, { pins: layoutPins([], [{ type: "account", tenant: "acme", node: "n2" }], S).pins });
    expect(p.map.owners).toHaveLength(S + 1);
    expect(p.map.owners[S]).toBe("n2");
    expect(p.moves).toEqual([{ shard: S, from: null, to: "n2" }]);
    expect(shardIn(p.map, "account", "acme/1")).toBe(S);
    expect(shardIn(p.map, "account", "acme")).toBe(S);
    expect(shardIn(p.map, "account", "acmeX/1")).toBe(shardOf("account", "acmeX/1", S));
    expect(shardIn(p.map, "other", "acme/1")).toBe(shardOf("other", "acme/1", S));
    expect(shardIn(p.map, "account", "x:1", () => "acme")).toBe(S);
    expect(decodeMap(encodeMap(p.map))).toEqual(p.map);
    expect(defaultTenant("a/b/c")).toBe("a");
    // A pin never moves or goes: planning without it is refused.
    expect(() => plan(p.map, members, { pins: [] })).toThrow(RangeError);
  });
});
