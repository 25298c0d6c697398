import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineInMemoryActor } from "../src/index.js";
import {
  type Member,
  type ShardGroup,
  type ShardMap,
  decodeMap,
  encodeMap,
  groupOf,
  layoutGroups,
  minimumMoves,
  ownerIn,
  plan,
  shardIn,
  shardOf,
  stage,
} from "../cluster/internal.js";

const S = 64;
const node = (id: string, roles?: string[], state: Member["state"] = "active"): Member =>
  roles === undefined ? { id, weight: 1, state } : { id, weight: 1, state, roles };
const gpu: ShardGroup = { roles: ["gpu"], types: ["render"], base: S, size: S };

describe("layoutGroups", () => {
  it("makes one group per role set, after the default group, and keeps it for good", () => {
    const first = layoutGroups([], S, [{ render: ["gpu"], train: ["gpu"] }, { pay: ["payments", "audit"] }]);
    expect(first.groups).toEqual([
      { roles: ["audit", "payments"], types: ["pay"], base: S, size: S },
      { roles: ["gpu"], types: ["render", "train"], base: 2 * S, size: S },
    ]);
    // Nobody announces anything any more: groups and their types stay where they were.
    expect(layoutGroups(first.groups, S, []).groups).toEqual(first.groups);
    // A new role set is appended; the old groups do not move.
    const next = layoutGroups(first.groups, S, [{ render: ["gpu"], index: ["search"] }]);
    expect(next.groups.map((g) => [g.roles.join(","), g.base])).toEqual([
      ["audit,payments", S],
      ["gpu", 2 * S],
      ["search", 3 * S],
    ]);
  });

  it("moves a type whose roles changed, and keeps it while any member still announces the old set", () => {
    const first = layoutGroups([], S, [{ render: ["gpu"] }]).groups;
    expect(layoutGroups(first, S, [{ render: ["gpu"] }, { render: ["big"] }]).groups.find((g) => g.types.includes("render"))!.roles).toEqual(["gpu"]);
    const moved = layoutGroups(first, S, [{ render: ["big"] }]).groups;
    expect(moved.map((g) => [g.roles.join(","), g.types.join(",")])).toEqual([
      ["gpu", ""],
      ["big", "render"],
    ]);
  });

  it("gives the same layout whatever the order of the announcements", () => {
    const ann = fc.array(fc.dictionary(fc.constantFrom("a", "b", "c", "d"), fc.subarray(["x", "y", "z"], { minLength: 1 })), { maxLength: 5 });
    fc.assert(
      fc.property(ann, (list) => {
        const one = layoutGroups([], S, list);
        const two = layoutGroups([], S, [...list].reverse());
        expect(two).toEqual(one);
        // Every type announced with roles lives in exactly one group, and groups are contiguous.
        const types = one.groups.flatMap((g) => g.types);
        expect(new Set(types).size).toBe(types.length);
        for (const [i, g] of one.groups.entries()) expect(g.base).toBe(S * (i + 1));
      }),
    );
  });
});

describe("plan with role groups", () => {
  const members = [node("a"), node("b", ["gpu"]), node("c", ["gpu", "x"]), node("d")];

  it("places a group's shards only on nodes with one of its roles, balanced among them", () => {
    const p = plan(undefined, members, { shardCount: S, groups: [gpu] });
    expect(p.map.owners).toHaveLength(2 * S);
    const inGroup = p.map.owners.slice(S);
    expect(new Set(inGroup)).toEqual(new Set(["b", "c"]));
    expect(inGroup.filter((o) => o === "b")).toHaveLength(S / 2);
    // The default group goes over every node.
    expect(new Set(p.map.owners.slice(0, S))).toEqual(new Set(["a", "b", "c", "d"]));
    // Every render actor's shard is in the group, so on b or c.
    for (let i = 0; i < 500; i++) expect(["b", "c"]).toContain(ownerIn(p.map, "render", `r${i}`));
  });

  it("leaves a group unowned when no node has its roles, and fills it when one joins", () => {
    const none = plan(undefined, [node("a"), node("d")], { shardCount: S, groups: [gpu] });
    expect(none.map.owners.slice(S).every((o) => o === null)).toBe(true);
    const joined = plan(none.map, [node("a"), node("d"), node("g", ["gpu"])]);
    expect(joined.map.groups).toEqual([gpu]);
    expect(joined.map.owners.slice(S).every((o) => o === "g")).toBe(true);
    // Only the group's shards moved: the default group was balanced already... except g's share of it.
    expect(joined.moves.filter((m) => m.shard >= S)).toHaveLength(S);
  });

  it("is sticky per group: a role node leaving moves only its shards, and the moves are minimal", () => {
    const before = plan(undefined, members, { shardCount: S, groups: [gpu] }).map;
    const after = members.filter((m) => m.id !== "b");
    const p = plan(before, after);
    for (const mv of p.moves) expect(mv.from).toBe("b");
    expect(p.moves).toHaveLength(minimumMoves(before, after));
    expect(p.map.owners.slice(S).every((o) => o === "c")).toBe(true);
  });

  it("adds a group to a map that had none: the new shards are orphans, nothing else moves", () => {
    const before = plan(undefined, members, { shardCount: S }).map;
    const p = plan(before, members, { groups: [gpu] });
    expect(p.moves.every((m) => m.from === null && m.shard >= S)).toBe(true);
    expect(p.map.owners.slice(0, S)).toEqual(before.owners);
  });

  it("refuses to drop or move a group", () => {
    const before = plan(undefined, members, { shardCount: S, groups: [gpu] }).map;
    expect(() => plan(before, members, { groups: [] })).toThrow(RangeError);
    expect(() => plan(before, members, { groups: [{ ...gpu, base: S + 1 }] })).toThrow(RangeError);
  });

  it("stages group moves like any other: a step is a valid map", () => {
    const before = plan(undefined, [node("a"), node("b", ["gpu"])], { shardCount: S, groups: [gpu] }).map;
    const all = [node("a"), node("b", ["gpu"]), node("c", ["gpu"])];
    const step = stage(before, plan(before, all), all, { maxHandoffs: 3 });
    expect(step.handoffs).toBe(3);
    expect(step.map.owners).toHaveLength(2 * S);
    expect(step.map.groups).toEqual([gpu]);
  });
});

describe("the map's groups on the wire and in routing", () => {
  it("round-trips groups, and old maps without them still decode", () => {
    const map = plan(undefined, [node("a", ["gpu"])], { shardCount: S, groups: [gpu] }).map;
    expect(decodeMap(encodeMap(map))).toEqual(map);
    const plain = plan(undefined, [node("a")], { shardCount: S }).map;
    expect(decodeMap(encodeMap(plain))).toEqual(plain);
    expect(JSON.parse(new TextDecoder().decode(encodeMap(plain)))).not.toHaveProperty("groups");
  });

  it("rejects groups that are not contiguous, share a type, or do not match the owners", () => {
    const map = plan(undefined, [node("a", ["gpu"])], { shardCount: S, groups: [gpu] }).map;
    const raw = JSON.parse(new TextDecoder().decode(encodeMap(map)));
    const bad = (f: (r: typeof raw) => void) => {
      const r = structuredClone(raw);
      f(r);
      return () => decodeMap(new TextEncoder().encode(JSON.stringify(r)));
    };
    expect(bad((r) => (r.groups[0].base = S + 1))).toThrow(/do not follow/);
    expect(bad((r) => r.groups.push({ roles: ["x"], types: ["render"], base: 2 * S, size: S }))).toThrow();
    expect(bad((r) => (r.groups[0].roles = ["a.b"]))).toThrow(/roles/);
    expect(bad((r) => r.owners.pop())).toThrow(/one entry per shard/);
  });

  it("puts a grouped type's actors at its group's base plus the plain hash", () => {
    const map: ShardMap = plan(undefined, [node("a", ["gpu"])], { shardCount: S, groups: [gpu] }).map;
    expect(groupOf(map, "render")).toEqual(gpu);
    expect(groupOf(map, "account")).toBeUndefined();
    expect(shardIn(map, "render", "r1")).toBe(S + shardOf("render", "r1", S));
    expect(shardIn(map, "account", "r1")).toBe(shardOf("account", "r1", S));
  });
});

describe("defineInMemoryActor roles", () => {
  const base = {
    type: "t",
    initialState: () => ({}),
    serialize: (s: object) => s,
    deserialize: (v: unknown) => v as object,
    messages: { ping: { validate: () => ({}), handle: (s: object) => ({ state: s, reply: 1 }) } },
  };
  it("takes 1–32 distinct role names and refuses anything else", () => {
    expect(defineInMemoryActor({ ...base, roles: ["gpu", "big"] }).roles).toEqual(["gpu", "big"]);
    for (const roles of [[], ["a.b"], ["x", "x"], [""], Array.from({ length: 33 }, (_, i) => `r${i}`)]) {
      expect(() => defineInMemoryActor({ ...base, roles })).toThrow(TypeError);
    }
  });
});
