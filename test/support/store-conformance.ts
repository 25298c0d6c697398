import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ShoalError } from "../../src/errors.js";
import type { ActorKey, EventStore, StoredEvent } from "../../src/store/types.js";
import { rejectsWith } from "./outcomes.js";

/** A store under test; `reopen` opens a second instance over the same data (a restarted process). */
export interface StoreHarness {
  store: EventStore;
  cleanup(): Promise<void>;
  reopen(): Promise<EventStore>;
}

export interface ConformanceOptions {
  /** Rounds of the concurrent-writers test (default 30). */
  rounds?: number;
  /** Runs of each property (default 30). */
  numRuns?: number;
}

interface Tally {
  n: number;
  sum: number;
  /** Order-sensitive digest: replaying in another order gives another value. */
  h: number;
}
const initial: Tally = { n: 0, sum: 0, h: 7 };
const evolve = (s: Tally, e: unknown): Tally => ({ n: s.n + 1, sum: s.sum + (e as number), h: (s.h * 31 + (e as number)) % 1_000_003 });
const fold = (s: Tally, events: readonly StoredEvent[]): Tally => events.reduce((acc, e) => evolve(acc, e.event), s);

/**
 * The behaviour every {@link EventStore} must show, as vitest suites. `makeStore` gives a fresh,
 * empty store per test.
 */
export function describeEventStoreConformance(name: string, makeStore: () => Promise<StoreHarness>, opts: ConformanceOptions = {}): void {
  const rounds = opts.rounds ?? 30;
  const numRuns = opts.numRuns ?? 30;

  describe(`EventStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: EventStore;
    let next = 0;
    const key = (id = `actor-${++next}`, type = "account"): ActorKey => ({ type, id });

    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it("an actor without events is at version 0 and loads empty", async () => {
      const k = key();
      expect(await store.version(k)).toBe(0);
      expect(await store.read(k)).toEqual([]);
      expect(await store.loadSnapshot(k)).toBeUndefined();
      expect(await store.load(k)).toEqual({ snapshot: undefined, events: [], version: 0 });
    });

    it("round-trips events; a batch of k at version v takes v+1..v+k", async () => {
      const k = key();
      const payload = { s: "é🦈", n: -1.5, list: [1, null, true], nested: { bin: new Uint8Array([1, 2]) } };
      expect(await store.append(k, [payload], 0)).toBe(1);
      expect(await store.append(k, ["b", "c", "d"], 1)).toBe(4);
      const all = await store.read(k);
      expect(all).toEqual([
        { version: 1, event: payload },
        { version: 2, event: "b" },
        { version: 3, event: "c" },
        { version: 4, event: "d" },
      ]);
      expect(await store.version(k)).toBe(4);
      expect(await store.load(k)).toEqual({ snapshot: undefined, events: all, version: 4 });
    });

    it("stores events as the codec carries them, and hands out copies", async () => {
      const k = key();
      await store.append(k, [{ a: 1, gone: undefined }, [undefined], new Uint8Array([1, 2])], 0);
      const first = await store.read(k);
      expect(first.map((e) => e.event)).toEqual([{ a: 1 }, [null], new Uint8Array([1, 2])]);
      // Binary comes back as a plain Uint8Array (not a Buffer), and mutating what was read changes nothing.
      expect(Object.getPrototypeOf(first[2]!.event)).toBe(Uint8Array.prototype);
      (first[0]!.event as Record<string, unknown>).a = 2;
      (first[2]!.event as Uint8Array)[0] = 9;
      expect((await store.read(k)).map((e) => e.event)).toEqual([{ a: 1 }, [null], new Uint8Array([1, 2])]);
    });

    it("refuses a stale or future expected version with CONFLICT and stores nothing", async () => {
      const k = key();
      await store.append(k, ["a"], 0);
      const stale = await rejectsWith(store.append(k, ["x"], 0), "CONFLICT");
      expect(stale.details).toEqual({ expected: 0, actual: 1 });
      const future = await rejectsWith(store.append(k, ["x", "y"], 5), "CONFLICT");
      expect(future.details).toEqual({ expected: 5, actual: 1 });
      expect(await store.read(k)).toEqual([{ version: 1, event: "a" }]);
      expect(await store.append(k, ["b"], 1)).toBe(2);
    });

    it("keeps ids with subject syntax, spaces, emoji and 500 bytes apart", async () => {
      const ids = [
        "a.b",
        "a",
        "b",
        "ab",
        "a.*",
        "*",
        ">",
        "a.>",
        "a b",
        " ",
        "a\tb",
        "🦈",
        "e\u0301",
        "\u00e9",
        "x".repeat(500),
        `${"x".repeat(499)}y`,
        "🦈".repeat(125),
      ];
      const keys = [...ids.map((id) => key(id)), key("a.b", "other"), key("a", "account-b")];
      for (const [i, k] of keys.entries()) expect(await store.append(k, [i], 0)).toBe(1);
      for (const [i, k] of keys.entries()) {
        expect(await store.read(k)).toEqual([{ version: 1, event: i }]);
        expect(await store.version(k)).toBe(1);
      }
    });

    it("rejects bad input with BAD_REQUEST and changes nothing", async () => {
      const k = key();
      await store.append(k, ["a"], 0);
      await rejectsWith(store.append(k, [], 1), "BAD_REQUEST");
      await rejectsWith(store.append(k, "a" as unknown as unknown[], 1), "BAD_REQUEST");
      await rejectsWith(store.append(k, ["a"], -1), "BAD_REQUEST");
      await rejectsWith(store.append(k, ["a"], 1.5), "BAD_REQUEST");
      await rejectsWith(store.append(k, [() => 1], 1), "BAD_REQUEST");
      await rejectsWith(store.append(k, [10n], 1), "BAD_REQUEST");
      await rejectsWith(store.append(k, [{ constructor: 1 }], 1), "BAD_REQUEST");
      await rejectsWith(store.append({ type: "a.b", id: "x" }, ["a"], 0), "BAD_REQUEST");
      await rejectsWith(store.append({ type: "account", id: "" }, ["a"], 0), "BAD_REQUEST");
      await rejectsWith(store.append({ type: "account", id: "\ud800" }, ["a"], 0), "BAD_REQUEST");
      await rejectsWith(store.read(k, -1), "BAD_REQUEST");
      await rejectsWith(store.saveSnapshot(k, { version: 1, state: () => 1 }), "BAD_REQUEST");
      expect(await store.read(k)).toEqual([{ version: 1, event: "a" }]);
      expect(await store.loadSnapshot(k)).toBeUndefined();
    });

    it("reads after a version in the middle of a batch", async () => {
      const k = key();
      await store.append(k, [1, 2, 3], 0);
      await store.append(k, [4, 5], 3);
      const versions = async (after: number): Promise<number[]> => (await store.read(k, after)).map((e) => e.version);
      expect(await versions(2)).toEqual([3, 4, 5]);
      expect(await versions(3)).toEqual([4, 5]);
      expect(await versions(4)).toEqual([5]);
      expect(await versions(5)).toEqual([]);
      expect(await versions(99)).toEqual([]);
      expect((await store.read(k, 1)).map((e) => e.event)).toEqual([2, 3, 4, 5]);
    });

    it("snapshot + tail folds to the same state as a full replay", async () => {
      const batches = fc.array(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 4 }), {
        minLength: 1,
        maxLength: 6,
      });
      await fc.assert(
        fc.asyncProperty(batches, fc.nat(), async (bs, at) => {
          const k = key();
          let v = 0;
          for (const b of bs) v = await store.append(k, b, v);
          const all = await store.read(k);
          const ends = bs.map((_, i) => bs.slice(0, i + 1).reduce((n, b) => n + b.length, 0));
          const sv = at % (v + 1);
          await store.saveSnapshot(k, { version: sv, state: fold(initial, all.slice(0, sv)) });
          const loaded = await store.load(k);
          expect(loaded.version).toBe(v);
          // A store may pass over a snapshot it cannot confirm against the journal (mid-batch here),
          // but one taken where a turn ends (a batch end, as the runtime does) must be used.
          if (ends.includes(sv)) expect(loaded.snapshot?.version).toBe(sv);
          const from = loaded.snapshot?.version ?? 0;
          const base = loaded.snapshot === undefined ? initial : (loaded.snapshot.state as Tally);
          expect(loaded.events.map((e) => e.version)).toEqual(all.slice(from).map((e) => e.version));
          expect(fold(base, loaded.events)).toEqual(fold(initial, all));
        }),
        { numRuns },
      );
    });

    it("keeps a batch's meta beside its events: load gives it back for the batches after the snapshot, read never", async () => {
      const k = key();
      await store.append(k, [1], 0);
      await store.append(k, [2, 3], 1, { o: [["account", "b", { deposit: 1 }, 0]] });
      await store.append(k, [4], 3);
      await store.append(k, [5], 4, { n: ["account", "c", 9, 0] });
      expect((await store.read(k)).map((e) => e.event)).toEqual([1, 2, 3, 4, 5]);
      const full = await store.load(k);
      expect(full.events.map((e) => e.event)).toEqual([1, 2, 3, 4, 5]);
      expect(full.metas).toEqual([
        { version: 3, meta: { o: [["account", "b", { deposit: 1 }, 0]] } },
        { version: 5, meta: { n: ["account", "c", 9, 0] } },
      ]);
      // Meta that the codec cannot carry fails the append, which stores nothing.
      await rejectsWith(store.append(k, [6], 5, { f: () => 1 }), "BAD_REQUEST");
      expect(await store.version(k)).toBe(5);
      await store.saveSnapshot(k, { version: 4, state: "at 4", meta: { p: [1] } });
      const after = await store.load(k);
      if (after.snapshot !== undefined) {
        expect(after.snapshot).toEqual({ version: 4, state: "at 4", meta: { p: [1] } });
        expect(after.metas).toEqual([{ version: 5, meta: { n: ["account", "c", 9, 0] } }]);
      }
      expect(await store.loadSnapshot(k)).toEqual({ version: 4, state: "at 4", meta: { p: [1] } });
      await store.saveSnapshot(k, { version: 5, state: "at 5" });
      const top = await store.load(k);
      expect(top.snapshot).toEqual({ version: 5, state: "at 5" });
      expect(top.metas).toBeUndefined();
    });

    it("ignores a snapshot above the journal's version", async () => {
      const k = key();
      await store.append(k, [1, 2], 0);
      await store.saveSnapshot(k, { version: 5, state: "from the future" });
      expect(await store.loadSnapshot(k)).toEqual({ version: 5, state: "from the future" });
      const loaded = await store.load(k);
      expect(loaded).toEqual({ snapshot: undefined, events: await store.read(k), version: 2 });
      await store.saveSnapshot(k, { version: 2, state: "now" });
      expect(await store.load(k)).toEqual({ snapshot: { version: 2, state: "now" }, events: [], version: 2 });
    });

    it("never trusts a snapshot taken ahead of the journal, even once the journal catches up", async () => {
      const k = key();
      await store.append(k, [1], 0);
      await store.saveSnapshot(k, { version: 3, state: "a stale writer's guess" });
      await store.append(k, [2, 3], 1);
      const loaded = await store.load(k);
      expect(loaded.snapshot).toBeUndefined();
      expect(loaded.events.map((e) => e.event)).toEqual([1, 2, 3]);
    });

    it(`lets exactly one of 8 concurrent writers of a version win, ${rounds} rounds`, async () => {
      const k = key();
      const winners: unknown[] = [];
      for (let round = 0; round < rounds; round++) {
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, w) => store.append(k, [{ round, w }], round)));
        const won = results.flatMap((r, w) => (r.status === "fulfilled" ? [w] : []));
        expect(won).toHaveLength(1);
        expect(results[won[0]!]).toEqual({ status: "fulfilled", value: round + 1 });
        for (const r of results) {
          if (r.status === "rejected") expect(ShoalError.is(r.reason, "CONFLICT")).toBe(true);
        }
        winners.push({ round, w: won[0] });
      }
      expect((await store.read(k)).map((e) => e.event)).toEqual(winners);
    });

    it("is seen alike by a second instance (a restarted process), which can continue", async () => {
      const k = key();
      await store.append(k, ["a", "b"], 0);
      await store.saveSnapshot(k, { version: 2, state: "ab" });
      await store.append(k, ["c"], 2);
      const other = await h.reopen();
      try {
        expect(await other.version(k)).toBe(3);
        expect(await other.read(k)).toEqual(await store.read(k));
        expect(await other.load(k)).toEqual(await store.load(k));
        expect(await other.append(k, ["d"], 3)).toBe(4);
        // The first instance's idea of the head is now stale: refused, then it catches up.
        await rejectsWith(store.append(k, ["x"], 3), "CONFLICT");
        expect((await store.read(k, 3)).map((e) => e.event)).toEqual(["d"]);
        expect(await store.append(k, ["e"], 4)).toBe(5);
        expect((await other.read(k)).map((e) => e.event)).toEqual(["a", "b", "c", "d", "e"]);
      } finally {
        await other.close();
      }
    });

    it("rejects every call with UNAVAILABLE once closed", async () => {
      const k = key();
      await store.append(k, ["a"], 0);
      await store.close();
      await rejectsWith(store.append(k, ["b"], 1), "UNAVAILABLE");
      await rejectsWith(store.read(k), "UNAVAILABLE");
      await rejectsWith(store.load(k), "UNAVAILABLE");
      const other = await h.reopen();
      expect(await other.version(k)).toBe(1);
      await other.close();
    });
  });
}
