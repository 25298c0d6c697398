import { describe, expect, it } from "vitest";
import { MemoryKvBackend } from "../cluster/kv-memory.js";
import type { KvChange } from "../cluster/kv.js";
import { ManualClock } from "../src/clock.js";
import { ErrorCode } from "../src/errors.js";
import { describeKvConformance, show } from "./support/kv-conformance.js";
import { rejectsWith } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

describeKvConformance("MemoryKvBackend", async () => {
  const clock = new ManualClock();
  const backend = new MemoryKvBackend(clock);
  return {
    provider: backend.provider("a"),
    peer: async () => backend.provider("b"),
    advance: async (ms) => clock.advance(ms),
    cleanup: async () => undefined,
  };
});

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("MemoryKvBackend", () => {
  it("expires exactly ttl ms after the last write, by the injected clock", async () => {
    const clock = new ManualClock();
    const kv = await new MemoryKvBackend(clock).provider().bucket("t", { ttl: 1000 });
    await kv.put("k", b("1"));
    clock.advance(600);
    const rev = await kv.put("k", b("2"));
    clock.advance(999);
    expect(await kv.get("k")).toMatchObject({ revision: rev });
    clock.advance(1);
    expect(await kv.get("k")).toBeUndefined();
    await rejectsWith(kv.delete("k", rev), ErrorCode.CONFLICT);
  });

  it("rejects every operation of a cut client with UNAVAILABLE, changing nothing; others go on", async () => {
    const backend = new MemoryKvBackend(new ManualClock());
    const a = await backend.provider("a").bucket("m", { ttl: 0 });
    const other = await backend.provider("b").bucket("m", { ttl: 0 });
    const rev = await a.put("k", b("1"));
    backend.cut("a");
    await rejectsWith(a.get("k"), ErrorCode.UNAVAILABLE);
    await rejectsWith(a.put("k", b("2")), ErrorCode.UNAVAILABLE);
    await rejectsWith(a.create("n", b("2")), ErrorCode.UNAVAILABLE);
    await rejectsWith(a.update("k", b("2"), rev), ErrorCode.UNAVAILABLE);
    await rejectsWith(a.delete("k"), ErrorCode.UNAVAILABLE);
    await rejectsWith(a.keys(), ErrorCode.UNAVAILABLE);
    await rejectsWith(
      a.watch(() => undefined),
      ErrorCode.UNAVAILABLE,
    );
    await rejectsWith(backend.provider("a").bucket("m", { ttl: 0 }), ErrorCode.UNAVAILABLE);
    expect(await other.get("k")).toMatchObject({ revision: rev });
    expect(await other.keys()).toEqual(["k"]);
    backend.heal("a");
    expect(await a.update("k", b("2"), rev)).toBeGreaterThan(rev);
  });

  it("holds a cut client's watch deliveries and hands them over in order on heal", async () => {
    const backend = new MemoryKvBackend(new ManualClock());
    const a = await backend.provider("a").bucket("m", { ttl: 0 });
    const other = await backend.provider("b").bucket("m", { ttl: 0 });
    const seen: KvChange[] = [];
    const all: KvChange[] = [];
    await a.watch((c) => seen.push(c));
    await other.watch((c) => all.push(c));
    backend.cut("a");
    const r1 = await other.put("k", b("1"));
    await other.delete("k", r1);
    const r3 = await other.create("k", b("3"));
    await turns(1);
    expect(seen).toEqual([]);
    expect(all).toHaveLength(3);
    backend.heal("a");
    await turns(1);
    expect(seen.map(show)).toEqual([`put k=1@${r1}`, `del k@${r1 + 1}`, `put k=3@${r3}`]);
  });

  it("a watch stopped while cut gets nothing on heal", async () => {
    const backend = new MemoryKvBackend(new ManualClock());
    const a = await backend.provider("a").bucket("m", { ttl: 0 });
    const seen: KvChange[] = [];
    const w = await a.watch((c) => seen.push(c));
    backend.cut("a");
    await (await backend.provider("b").bucket("m", { ttl: 0 })).put("k", b("1"));
    w.stop();
    backend.heal("a");
    await turns(1);
    expect(seen).toEqual([]);
  });

  it("never runs a watch callback inside the writer's call", async () => {
    const kv = await new MemoryKvBackend(new ManualClock()).provider().bucket("m", { ttl: 0 });
    const seen: KvChange[] = [];
    await kv.watch((c) => seen.push(c));
    const p = kv.put("k", b("1"));
    expect(seen).toEqual([]);
    await p;
    await turns(1);
    expect(seen).toHaveLength(1);
  });

  it("keeps delivering to a watch whose callback throws", async () => {
    const kv = await new MemoryKvBackend(new ManualClock()).provider().bucket("m", { ttl: 0 });
    let calls = 0;
    await kv.watch(() => {
      calls++;
      throw new Error("subscriber bug");
    });
    await kv.put("k", b("1"));
    await kv.put("k", b("2"));
    await turns(1);
    expect(calls).toBe(2);
  });

  it("copies values in and out", async () => {
    const kv = await new MemoryKvBackend(new ManualClock()).provider().bucket("m", { ttl: 0 });
    const v = b("abc");
    await kv.put("k", v);
    v[0] = 0;
    const got = await kv.get("k");
    got!.value[1] = 0;
    expect(new TextDecoder().decode((await kv.get("k"))!.value)).toBe("abc");
  });
});
