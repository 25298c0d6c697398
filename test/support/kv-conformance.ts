import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Kv, KvChange, KvProvider, KvWatch } from "../../cluster/kv.js";
import { ErrorCode } from "../../src/errors.js";
import { waitFor } from "../../local-nats/wait.js";
import { rejectsWith } from "./outcomes.js";

/** A KV backend under test. */
export interface KvHarness {
  provider: KvProvider;
  /** Another connection to the same store (another node); buckets of one name are shared. */
  peer(): Promise<KvProvider>;
  /** Moves a fake clock; absent for real servers (the suite then polls in real time). */
  advance?: (ms: number) => Promise<void>;
  cleanup(): Promise<void>;
}

export interface KvConformanceOptions {
  /** TTL of the expiry tests, ms (default 1500). */
  ttl?: number;
  /** How long past the ttl a value may linger before it must be gone, ms (default 3000). */
  expirySlack?: number;
  /** Rounds of the concurrent-create test (default 20). */
  rounds?: number;
}

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string): Uint8Array => te.encode(s);
const txt = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : td.decode(v));

/** A change as comparable text: `put k=v@rev` or `del k@rev`. */
export function show(c: KvChange): string {
  return c.kind === "put" ? `put ${c.entry.key}=${txt(c.entry.value)}@${c.entry.revision}` : `del ${c.key}@${c.revision}`;
}

/** Starts a watch that records every change. */
async function record(kv: Kv, key?: string): Promise<{ changes: KvChange[]; watch: KvWatch }> {
  const changes: KvChange[] = [];
  const watch = await kv.watch((c) => changes.push(c), key);
  return { changes, watch };
}

const revisionOf = (c: KvChange): number => (c.kind === "put" ? c.entry.revision : c.revision);

/**
 * The behaviour every {@link KvProvider} must show, as vitest suites. `make` gives a fresh
 * harness per test; bucket names are short and repeat across tests, so a shared server's
 * harness should map them to unique names.
 */
export function describeKvConformance(name: string, make: () => Promise<KvHarness>, opts: KvConformanceOptions = {}): void {
  const ttl = opts.ttl ?? 1500;
  const slack = opts.expirySlack ?? 3000;
  const rounds = opts.rounds ?? 20;

  describe(`Kv conformance: ${name}`, () => {
    let h: KvHarness;
    let n = 0;
    const open = (t = 0, p: KvProvider = h.provider): Promise<Kv> => p.bucket(`kvc${++n}`, { ttl: t });

    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** Polls `cond` every `step` ms of fake or real time; resolves to the time it took. */
    async function poll(cond: () => Promise<boolean>, limit: number, step: number): Promise<number> {
      const start = Date.now();
      let advanced = 0;
      const elapsed = (): number => (h.advance ? advanced : Date.now() - start);
      for (;;) {
        if (await cond()) return elapsed();
        if (elapsed() > limit) throw new Error(`condition not met within ${limit} ms`);
        if (h.advance) {
          await h.advance(step);
          advanced += step;
        } else {
          await new Promise((r) => setTimeout(r, step));
        }
      }
    }

    it("put, get, keys and revisions", async () => {
      const kv = await open();
      expect(await kv.get("a")).toBeUndefined();
      expect(await kv.keys()).toEqual([]);
      const r1 = await kv.put("a", b("1"));
      const r2 = await kv.put("b.c", b("2"));
      const r3 = await kv.put("a", b("3"));
      expect(r1).toBeGreaterThan(0);
      expect(r2).toBeGreaterThan(r1);
      expect(r3).toBeGreaterThan(r2);
      const a = await kv.get("a");
      expect({ key: a?.key, value: txt(a?.value), revision: a?.revision }).toEqual({ key: "a", value: "3", revision: r3 });
      expect((await kv.keys()).sort()).toEqual(["a", "b.c"]);
    });

    it("keys narrowed by subject filters: one pattern, or any of several", async () => {
      const kv = await open();
      for (const k of ["1.a.x", "1.b.y", "2.a.x", "12.a.x", "3"]) await kv.put(k, b(k));
      await kv.delete("1.b.y");
      expect((await kv.keys("1.>")).sort()).toEqual(["1.a.x"]);
      expect((await kv.keys(["1.>", "12.>"])).sort()).toEqual(["1.a.x", "12.a.x"]);
      expect((await kv.keys("*.a.x")).sort()).toEqual(["1.a.x", "12.a.x", "2.a.x"]);
      expect(await kv.keys("9.>")).toEqual([]);
    });

    it("create writes only a missing key; on an existing one it is CONFLICT and changes nothing", async () => {
      const kv = await open();
      const r = await kv.create("k", b("first"));
      const err = await rejectsWith(kv.create("k", b("second")), ErrorCode.CONFLICT);
      expect(err.code).toBe("CONFLICT");
      expect(await kv.get("k")).toMatchObject({ revision: r });
      expect(txt((await kv.get("k"))?.value)).toBe("first");
    });

    it("update needs the live revision: a stale one is CONFLICT and changes nothing", async () => {
      const kv = await open();
      const r1 = await kv.create("k", b("1"));
      const r2 = await kv.update("k", b("2"), r1);
      expect(r2).toBeGreaterThan(r1);
      await rejectsWith(kv.update("k", b("stale"), r1), ErrorCode.CONFLICT);
      await rejectsWith(kv.update("missing", b("x"), r2), ErrorCode.CONFLICT);
      await rejectsWith(kv.update("k", b("zero"), 0), ErrorCode.CONFLICT);
      const e = await kv.get("k");
      expect([txt(e?.value), e?.revision]).toEqual(["2", r2]);
    });

    it("delete: unconditional, no-op on a missing key, CONFLICT with a stale revision; create afterwards succeeds", async () => {
      const kv = await open();
      await kv.delete("never");
      const r1 = await kv.put("k", b("1"));
      const r2 = await kv.put("k", b("2"));
      await rejectsWith(kv.delete("k", r1), ErrorCode.CONFLICT);
      expect(txt((await kv.get("k"))?.value)).toBe("2");
      await kv.delete("k", r2);
      expect(await kv.get("k")).toBeUndefined();
      expect(await kv.keys()).toEqual([]);
      await rejectsWith(kv.delete("k", r2), ErrorCode.CONFLICT);
      await rejectsWith(kv.update("k", b("x"), r2), ErrorCode.CONFLICT);
      const r3 = await kv.create("k", b("again"));
      expect(r3).toBeGreaterThan(r2);
      await kv.put("j", b("j"));
      await kv.delete("j");
      expect(await kv.keys()).toEqual(["k"]);
    });

    it("rejects invalid keys and bucket names with BAD_REQUEST", async () => {
      const kv = await open();
      await rejectsWith(kv.put("a b", b("x")), ErrorCode.BAD_REQUEST);
      await rejectsWith(kv.get(".a"), ErrorCode.BAD_REQUEST);
      await rejectsWith(h.provider.bucket("a.b", { ttl: 0 }), ErrorCode.BAD_REQUEST);
    });

    it("reopening a bucket shares its data; another ttl is rejected", async () => {
      const name = `kvc${++n}`;
      const kv = await h.provider.bucket(name, { ttl });
      await kv.put("k", b("v"));
      const again = await h.provider.bucket(name, { ttl });
      expect(txt((await again.get("k"))?.value)).toBe("v");
      await expect(h.provider.bucket(name, { ttl: ttl * 2 })).rejects.toThrow(/ttl/);
      await expect(h.provider.bucket(name, { ttl: 0 })).rejects.toThrow(/ttl/);
    });

    it("a value not rewritten expires after the ttl, silently; then create succeeds and its old revision is stale", async () => {
      const kv = await open(ttl);
      const { changes } = await record(kv);
      const r1 = await kv.create("k", b("1"));
      expect(await kv.get("k")).toBeDefined();
      const took = await poll(async () => (await kv.get("k")) === undefined, ttl + slack, ttl / 10);
      expect(took).toBeGreaterThanOrEqual(ttl - 100);
      expect(await kv.keys()).toEqual([]);
      await rejectsWith(kv.update("k", b("x"), r1), ErrorCode.CONFLICT);
      const r2 = await kv.create("k", b("2"));
      expect(r2).toBeGreaterThan(r1);
      await waitFor(() => changes.length >= 2);
      expect(changes.map(show)).toEqual([`put k=1@${r1}`, `put k=2@${r2}`]);
    });

    it("a value rewritten within the ttl survives while one left alone expires", async () => {
      const kv = await open(ttl);
      await kv.put("alone", b("a"));
      let rev = await kv.put("kept", b("0"));
      let i = 0;
      // Each poll rewrites `kept` (by CAS, so a lapse would show as CONFLICT) until `alone` is gone.
      await poll(
        async () => {
          rev = await kv.update("kept", b(String(++i)), rev);
          return (await kv.get("alone")) === undefined;
        },
        ttl + slack,
        ttl / 6,
      );
      expect(i).toBeGreaterThan(3);
      expect(await kv.get("kept")).toMatchObject({ revision: rev });
    });

    it("watch delivers the live values first, then puts and deletes in revision order", async () => {
      const kv = await open();
      const ra = await kv.put("a", b("1"));
      const rb = await kv.put("b", b("2"));
      await kv.put("gone", b("x"));
      await kv.delete("gone");
      const { changes } = await record(kv);
      expect(changes.map(show)).toEqual([`put a=1@${ra}`, `put b=2@${rb}`]);
      const rd = await kv.put("d", b("4"));
      await kv.delete("a");
      const rb2 = await kv.update("b", b("5"), rb);
      await kv.delete("d", rd);
      await waitFor(() => changes.length >= 6);
      const later = changes.slice(2);
      expect(later.map((c) => (c.kind === "put" ? `put ${c.entry.key}@${c.entry.revision}` : `del ${c.key}`))).toEqual([
        `put d@${rd}`,
        "del a",
        `put b@${rb2}`,
        "del d",
      ]);
      const revs = changes.map(revisionOf);
      expect(revs).toEqual([...revs].sort((x, y) => x - y));
      expect(new Set(revs).size).toBe(revs.length);
    });

    it("watch of an empty bucket resolves and then reports writes", async () => {
      const kv = await open();
      const { changes } = await record(kv);
      expect(changes).toEqual([]);
      const r = await kv.create("k", b("v"));
      await waitFor(() => changes.length === 1);
      expect(changes.map(show)).toEqual([`put k=v@${r}`]);
    });

    it("a key-filtered watch sees only its key", async () => {
      const kv = await open();
      await kv.put("x", b("0"));
      await kv.put("y", b("0"));
      const only = await record(kv, "x");
      const all = await record(kv);
      expect(only.changes.map(show).map((s) => s.split("@")[0])).toEqual(["put x=0"]);
      await kv.put("y", b("1"));
      const rx = await kv.put("x", b("1"));
      await kv.put("xy", b("1"));
      await kv.delete("x");
      await kv.put("y", b("2"));
      await waitFor(() => only.changes.length >= 3 && all.changes.some((c) => c.kind === "put" && txt(c.entry.value) === "2"));
      expect(only.changes.slice(1).map((c) => (c.kind === "put" ? `put ${c.entry.key}@${c.entry.revision}` : `del ${c.key}`))).toEqual([
        `put x@${rx}`,
        "del x",
      ]);
    });

    it("stop() ends delivery", async () => {
      const kv = await open();
      const stopped = await record(kv);
      const sentinel = await record(kv);
      await kv.put("a", b("1"));
      await waitFor(() => stopped.changes.length === 1 && sentinel.changes.length === 1);
      stopped.watch.stop();
      await kv.put("a", b("2"));
      await kv.put("b", b("3"));
      await waitFor(() => sentinel.changes.length === 3);
      expect(stopped.changes.length).toBe(1);
      sentinel.watch.stop();
    });

    it("two connections see each other's writes", async () => {
      const kvA = await open();
      const kvB = await h.peer().then((p) => p.bucket(`kvc${n}`, { ttl: 0 }));
      const seenByB = await record(kvB);
      const r1 = await kvA.create("k", b("from A"));
      expect(txt((await kvB.get("k"))?.value)).toBe("from A");
      const r2 = await kvB.update("k", b("from B"), r1);
      expect(await kvA.get("k")).toMatchObject({ revision: r2 });
      await rejectsWith(kvA.update("k", b("late"), r1), ErrorCode.CONFLICT);
      await kvA.delete("k", r2);
      expect(await kvB.get("k")).toBeUndefined();
      await waitFor(() => seenByB.changes.length === 3);
      expect(seenByB.changes.map((c) => c.kind)).toEqual(["put", "put", "delete"]);
    });

    it(`concurrent creates of one key: exactly one wins (${rounds} rounds)`, async () => {
      const kvs = [await open(), await h.peer().then((p) => p.bucket(`kvc${n}`, { ttl: 0 }))];
      for (let round = 0; round < rounds; round++) {
        const key = `race-${round}`;
        const results = await Promise.allSettled(kvs.flatMap((kv, i) => [0, 1, 2].map((j) => kv.create(key, b(`${i}.${j}`)))));
        const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, rev: r.value }] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "CONFLICT" });
        const e = await kvs[0]!.get(key);
        expect(e?.revision).toBe(won[0]!.rev);
        expect(txt(e?.value)).toBe(`${Math.floor(won[0]!.i / 3)}.${won[0]!.i % 3}`);
      }
    });

    it("concurrent updates from one revision: exactly one wins", async () => {
      const kvs = [await open(), await h.peer().then((p) => p.bucket(`kvc${n}`, { ttl: 0 }))];
      let rev = await kvs[0]!.create("k", b("0"));
      for (let round = 0; round < 5; round++) {
        const results = await Promise.allSettled(kvs.flatMap((kv) => [0, 1, 2].map(() => kv.update("k", b(String(round)), rev))));
        const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        expect(won).toHaveLength(1);
        rev = won[0]!;
      }
      expect(await kvs[1]!.get("k")).toMatchObject({ revision: rev });
    });
  });
}
