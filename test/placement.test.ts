import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SHARD_COUNT,
  actorHash,
  balance,
  minimumMoves,
  murmur3,
  place,
  plan,
  shardOf,
  shares,
  type Member,
  type ShardMap,
} from "../cluster/internal.js";

const S = DEFAULT_SHARD_COUNT;
const te = new TextEncoder();
const node = (id: string, weight = 1, state: Member["state"] = "active"): Member => ({ id, weight, state });
const nodes = (n: number, prefix = "node-") => Array.from({ length: n }, (_, i) => node(`${prefix}${i}`));
const count = (map: ShardMap, id: string) => map.owners.filter((o) => o === id).length;
/** Distinct node ids, 2..32 of them, arbitrary strings. */
const ids = (min: number, max: number) => fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: min, maxLength: max });

describe("shardOf", () => {
  it("matches the documented known answers", () => {
    const vectors: Array<[string, string, number, number]> = [
      ["account", "alice", 0x758b81b2, 434],
      ["account", "bob", 0x71a1a92d, 301],
      ["account", "a.b*c>d e", 0x9aa520a4, 164],
      ["account", "ü", 0xb10dc53a, 314],
      ["account", "🐟 shoal", 0xbfb084b4, 180],
      ["t", "", 0x3a1eaaf6, 758],
    ];
    for (const [type, id, hash, shard] of vectors) {
      expect(actorHash(type, id)).toBe(hash);
      expect(shardOf(type, id, 1024)).toBe(shard);
    }
  });

  it("is plain MurmurHash3_x86_32 (reference vectors, seed 0)", () => {
    const vectors: Array<[string, number]> = [
      ["", 0],
      ["a", 0x3c2569b2],
      ["ab", 0x9bbfd75f],
      ["abc", 0xb3dd93fa],
      ["abcd", 0x43ed676a],
      ["hello", 0x248bfa47],
      ["Hello, world!", 0xc0363e43],
      ["The quick brown fox jumps over the lazy dog", 0x2e4ff723],
    ];
    for (const [s, h] of vectors) expect(murmur3(te.encode(s))).toBe(h);
  });

  it("hashes the UTF-8 of type + NUL + id, for any id", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 10 }), (id, type) => {
        expect(actorHash(type, id)).toBe(murmur3(te.encode(`${type}\u0000${id}`)));
      }),
    );
    // Lone surrogates encode as U+FFFD, as TextEncoder does.
    for (const id of ["\uD800", "x\uDC00y", "\uDBFF\uDBFF", "a\uD83D"]) expect(actorHash("t", id)).toBe(murmur3(te.encode(`t\u0000${id}`)));
  });

  it("stays in range for any shard count", () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: "binary" }), fc.integer({ min: 1, max: 1 << 20 }), (type, id, n) => {
        const s = shardOf(type, id, n);
        expect(Number.isInteger(s) && s >= 0 && s < n).toBe(true);
      }),
    );
  });

  it("handles subject-hostile and non-ASCII ids", () => {
    const odd = ["a.b", "*", ">", "a b", " ", "🐟", "👩‍👩‍👧", "日本語", "\u0000", "x".repeat(512), "ü".repeat(300)];
    const seen = new Set(odd.map((id) => actorHash("account", id)));
    expect(seen.size).toBe(odd.length);
    for (const id of odd) expect(shardOf("account", id)).toBe(actorHash("account", id) % S);
  });

  it("spreads 100k ids evenly over 1024 shards (chi-square)", () => {
    let x = 0x2545f491;
    const rand = () => {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      return (x >>> 0).toString(36);
    };
    for (const id of [(i: number) => `user-${i}`, (i: number) => `${rand()}:${i}`]) {
      const n = 100_000;
      const bins = new Array<number>(S).fill(0);
      for (let i = 0; i < n; i++) bins[shardOf("account", id(i), S)]!++;
      const e = n / S;
      const chi = bins.reduce((t, o) => t + (o - e) ** 2 / e, 0);
      // 1023 degrees of freedom: mean 1023, sd ≈ 45; far outside either way means a broken hash.
      expect(chi).toBeGreaterThan(1023 - 6 * 45);
      expect(chi).toBeLessThan(1023 + 6 * 45);
    }
  });
});

describe("place", () => {
  it("balances 2–32 equal nodes to max/mean ≤ 1.05, every shard owned", () => {
    for (let n = 2; n <= 32; n++) {
      const owners = place(S, nodes(n));
      expect(owners.every((o) => o !== null)).toBe(true);
      const b = balance({ version: 1, epoch: 0, shardCount: S, owners });
      expect(b.ratio).toBeLessThanOrEqual(1.05);
      expect(b.max).toBe(Math.ceil(S / n));
    }
  });

  it("balances any ids within floor/ceil of the fair share", () => {
    fc.assert(
      fc.property(ids(2, 32), (names) => {
        const { map } = plan(
          undefined,
          names.map((id) => node(id)),
        );
        for (const id of names) expect(Math.abs(count(map, id) - S / names.length)).toBeLessThan(1);
        expect(balance(map).ratio).toBeLessThanOrEqual(1.05);
      }),
    );
  });

  it("gives weighted members shares proportional to weight (within one shard)", () => {
    fc.assert(
      fc.property(
        ids(1, 16).chain((names) =>
          fc.tuple(fc.constant(names), fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: names.length, maxLength: names.length })),
        ),
        fc.integer({ min: 1, max: 4096 }),
        ([names, weights], shardCount) => {
          const members = names.map((id, i) => node(id, weights[i]!));
          const { map } = plan(undefined, members, { shardCount });
          const total = weights.reduce((t, w) => t + w, 0);
          for (const m of members) expect(Math.abs(count(map, m.id) - (shardCount * m.weight) / total)).toBeLessThanOrEqual(1 + 1e-9);
          expect(map.owners.every((o) => o !== null)).toBe(true);
        },
      ),
    );
  });

  it("gives draining nodes nothing and leaves shards unowned when nobody is eligible", () => {
    const owners = place(S, [node("a"), node("b", 1, "draining"), node("c", 1, "joining")]);
    expect(owners.includes("b")).toBe(false);
    expect(new Set(owners)).toEqual(new Set(["a", "c"]));
    expect(place(64, [node("b", 1, "draining")]).every((o) => o === null)).toBe(true);
    expect(place(64, []).every((o) => o === null)).toBe(true);
  });

  it("rejects inconsistent input", () => {
    expect(() => place(0, nodes(2))).toThrow(RangeError);
    expect(() => place(S, [node("a"), node("a")])).toThrow(RangeError);
    expect(() => place(S, [node("a", 0)])).toThrow(RangeError);
    expect(() => place(S, [node("a", Number.NaN)])).toThrow(RangeError);
    expect(() => place(S, [node("a", -1, "draining"), node("b")])).not.toThrow();
  });

  it("keeps bounds feasible: Σmin ≤ S ≤ Σmax", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 5000 }), (ws, n) => {
        const sh = shares(
          n,
          ws.map((w, i) => node(`n${i}`, w)),
        );
        expect(sh.reduce((t, s) => t + s.min, 0)).toBeLessThanOrEqual(n);
        expect(sh.reduce((t, s) => t + s.max, 0)).toBeGreaterThanOrEqual(n);
        for (const s of sh) expect(s.min).toBeLessThanOrEqual(s.max);
      }),
    );
  });
});

type Op = { kind: "join"; id: string } | { kind: "leave" | "drain"; pick: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("join" as const), id: fc.string({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constantFrom("leave" as const, "drain" as const), pick: fc.nat() }),
);

/** Applies one membership change; undefined when it does not apply (duplicate id, too few or many nodes). */
function apply(members: Member[], o: Op): Member[] | undefined {
  const live = members.filter((m) => m.state !== "draining");
  if (o.kind === "join") return live.length >= 32 || members.some((m) => m.id === o.id) ? undefined : [...members, node(o.id, 1, "joining")];
  if (live.length <= 2) return undefined;
  const victim = live[o.pick % live.length]!;
  return o.kind === "leave" ? members.filter((m) => m !== victim) : members.map((m) => (m === victim ? node(m.id, 1, "draining") : m));
}

describe("plan", () => {
  it("stays balanced, fully owned and minimal through joins, leaves and drains", () => {
    fc.assert(
      fc.property(ids(2, 32), fc.array(op, { maxLength: 12 }), (names, ops) => {
        let members = names.map((id) => node(id));
        let map = plan(undefined, members).map;
        for (const o of ops) {
          const next = apply(members, o);
          if (!next) continue;
          const min = minimumMoves(map, next);
          const p = plan(map, next, { epoch: 7 });
          expect(p.moves.length).toBeLessThanOrEqual(Math.ceil(1.1 * min));
          expect(p.map.version).toBe(map.version + 1);
          expect(p.map.epoch).toBe(7);
          for (const m of next) if (m.state === "draining") expect(count(p.map, m.id)).toBe(0);
          expect(p.map.owners.every((x) => x !== null && next.some((m) => m.id === x))).toBe(true);
          expect(balance(p.map, next).ratio).toBeLessThanOrEqual(1.05);
          // Moves are exactly the owner changes.
          expect(p.moves).toEqual(map.owners.flatMap((from, shard) => (from === p.map.owners[shard] ? [] : [{ shard, from, to: p.map.owners[shard] }])));
          members = next.filter((m) => m.state !== "draining");
          map = plan(p.map, members).map;
        }
      }),
    );
  });

  it("moves at most 1.1 × the minimum on one join: about S/(N+1)", () => {
    for (let n = 1; n < 32; n++) {
      const before = plan(undefined, nodes(n)).map;
      const after = [...nodes(n), node("newcomer", 1, "joining")];
      const p = plan(before, after);
      // Independent lower bound: the newcomer must receive at least floor(S/(N+1)).
      const need = Math.floor(S / (n + 1));
      expect(p.moves.length).toBeLessThanOrEqual(1.1 * Math.max(need, minimumMoves(before, after)));
      expect(p.moves.length).toBeGreaterThanOrEqual(need);
      expect(p.moves.every((m) => m.to === "newcomer")).toBe(true);
    }
  });

  it("moves exactly the leaver's shards on one leave or drain", () => {
    fc.assert(
      fc.property(ids(3, 32), fc.nat(), fc.boolean(), (names, pick, drain) => {
        const members = names.map((id) => node(id));
        const before = plan(undefined, members).map;
        const gone = names[pick % names.length]!;
        const after = drain ? members.map((m) => (m.id === gone ? node(gone, 1, "draining") : m)) : members.filter((m) => m.id !== gone);
        const p = plan(before, after);
        expect(p.moves.length).toBe(count(before, gone));
        expect(p.moves.length).toBe(minimumMoves(before, after));
        expect(p.moves.every((m) => m.from === gone && m.to !== null)).toBe(true);
      }),
    );
  });

  it("is deterministic and independent of member order", () => {
    fc.assert(
      fc.property(ids(2, 32), fc.array(op, { maxLength: 4 }), fc.nat(), (names, ops, seed) => {
        let members = names.map((id) => node(id));
        let map = plan(undefined, members).map;
        for (const o of ops) {
          const next = apply(members, o);
          if (!next) continue;
          const shuffled = [...next].sort((a, b) => murmur3(te.encode(a.id), seed) - murmur3(te.encode(b.id), seed));
          const p = plan(map, next, { epoch: 3 });
          expect(plan(map, shuffled, { epoch: 3 })).toEqual(p);
          expect(
            plan(
              structuredClone(map),
              next.map((m) => ({ ...m })),
              { epoch: 3 },
            ),
          ).toEqual(p);
          members = next;
          map = p.map;
        }
      }),
    );
  });

  it("moves nothing when nothing changed", () => {
    fc.assert(
      fc.property(ids(1, 32), (names) => {
        const members = names.map((id) => node(id));
        const first = plan(undefined, members);
        expect(first.moves.length).toBe(S);
        const again = plan(first.map, [...members].reverse());
        expect(again.moves).toEqual([]);
        expect(again.map.owners).toEqual(first.map.owners);
        expect(minimumMoves(first.map, members)).toBe(0);
      }),
    );
  });

  it("unowns every shard when no member is eligible, and re-homes them all later", () => {
    const start = plan(undefined, nodes(3), { shardCount: 64, epoch: 1 }).map;
    const none = plan(start, [node("node-0", 1, "draining")]);
    expect(none.map.owners.every((o) => o === null)).toBe(true);
    expect(none.moves.length).toBe(64);
    expect(none.moves.every((m) => m.to === null)).toBe(true);
    expect(minimumMoves(start, [])).toBe(64);
    const back = plan(none.map, nodes(2, "x"));
    expect(back.moves.length).toBe(64);
    expect(back.moves.every((m) => m.from === null && m.to !== null)).toBe(true);
    expect(back.map.epoch).toBe(1);
  });

  it("keeps the shard count fixed", () => {
    const map = plan(undefined, nodes(2), { shardCount: 128 }).map;
    expect(map.shardCount).toBe(128);
    expect(plan(map, nodes(3)).map.shardCount).toBe(128);
    expect(() => plan(map, nodes(3), { shardCount: 256 })).toThrow(RangeError);
    expect(() => plan({ ...map, owners: map.owners.slice(1) }, nodes(3))).toThrow(RangeError);
  });

  // Timings of this size live in `npm run bench` (placement_plan_*), never in a test.
  it("plans 4096 shards × 64 nodes balanced, and a join there minimally", () => {
    const members = nodes(64);
    const fresh = plan(undefined, members, { shardCount: 4096 }).map;
    expect(balance(fresh).ratio).toBe(1);
    const joined = [...members, node("late", 1, "joining")];
    const p = plan(fresh, joined);
    expect(p.moves.length).toBe(minimumMoves(fresh, joined));
    expect(p.moves.every((m) => m.to === "late")).toBe(true);
  });
});

describe("balance", () => {
  it("reports max, mean and max/fair-share", () => {
    const map: ShardMap = { version: 1, epoch: 0, shardCount: 6, owners: ["a", "a", "a", "b", "b", null] };
    expect(balance(map)).toEqual({ max: 3, mean: 2.5, ratio: 1.2 });
    expect(balance(map, [node("a"), node("b"), node("c")])).toEqual({ max: 3, mean: 5 / 3, ratio: 1.8 });
    expect(balance(map, [node("a", 3), node("b", 2)]).ratio).toBeCloseTo(1);
    expect(balance({ ...map, owners: [null, null] })).toEqual({ max: 0, mean: 0, ratio: 1 });
  });
});
