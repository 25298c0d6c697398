import { describe, expect, it } from "vitest";
import { shardOf } from "../src/routing/shard-hash.js";
import type { ForwardedAsk } from "../cluster/wire.js";
import { ActorMovedError, ErrorCode, ShoalError, TimeoutError, UnavailableError } from "../src/errors.js";
import { thrownCode } from "./support/outcomes.js";
import { mapOf, SHARDS, setup } from "./support/router-rig.js";
import { turns } from "./support/turns.js";

describe("router", () => {
  it("runs locally when this node owns the shard, remotely otherwise", async () => {
    const t = setup(mapOf(1, "me"));
    expect(await t.router.ask("account", "a", {})).toBe("local:a");
    t.maps.set(mapOf(2, "other"));
    const p = t.router.ask("account", "a", {});
    await turns();
    expect(t.transport.sent[0]!.node).toBe("other");
    expect(t.transport.sent[0]!.req).toMatchObject({ k: "ask", type: "account", id: "a", mapVersion: 2, hops: 0 });
    t.transport.sent[0]!.answer("remote");
    expect(await p).toBe("remote");
  });

  it("carries a client's sender and seq to the owner: locally, forwarded, and on from a forwarded ask; none when not given", async () => {
    const t = setup(mapOf(1, "me"));
    const order = (seq: number) => ({ order: { sender: "c", seq, settled: seq - 1 } });
    await t.router.ask("account", "a", {}, order(1));
    await t.router.send("account", "a", {}, order(2));
    t.router.tell("account", "a", {}, order(3));
    await t.router.ask("account", "a", {});
    await turns();
    expect(t.localOrder).toEqual([
      ["c", 1],
      ["c", 2],
      ["c", 3],
      [undefined, undefined],
    ]);
    t.maps.set(mapOf(2, "other"));
    const p = t.router.ask("account", "a", {}, order(4));
    void t.forwarded({ k: "ask", type: "account", id: "b", msg: {}, timeoutMs: 1000, mapVersion: 2, hops: 0, order: { sender: "d", seq: 9, settled: 0 } });
    void t.router.ask("account", "e", {});
    await turns();
    expect(t.transport.sent.map((s) => s.req)).toEqual([
      expect.objectContaining({ id: "a", order: { sender: "c", seq: 4, settled: 3 } }),
      expect.objectContaining({ id: "b", order: { sender: "d", seq: 9, settled: 0 }, hops: 1 }),
      expect.not.objectContaining({ order: expect.anything() }),
    ]);
    t.transport.sent[0]!.answer("remote");
    expect(await p).toBe("remote");
  });

  it("sends a send like an ask, flagged discard, resolving to nothing once the owner has taken it", async () => {
    const t = setup(mapOf(1, "other"));
    const told = t.router.send("account", "a", { n: 1 });
    await turns();
    expect(t.transport.sent[0]!.req).toMatchObject({ k: "ask", type: "account", id: "a", msg: { n: 1 }, discard: true });
    t.transport.sent[0]!.answer(null);
    expect(await told).toBeUndefined();
    // Without the flag for an ask; a forwarded send keeps it when it is forwarded on.
    void t.router.ask("account", "a", {});
    await turns();
    expect(t.transport.sent[1]!.req).not.toHaveProperty("discard");
    void t.forwarded({ k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 1000, mapVersion: 1, hops: 0, discard: true });
    await turns();
    expect(t.transport.sent[2]!.req).toMatchObject({ hops: 1, discard: true });
  });

  it("sends a tell flagged tell and discard, taken at once, its failures to the hook; a forwarded tell stays a tell", async () => {
    const failed: unknown[] = [];
    const t = setup(mapOf(1, "other"), (err) => failed.push(err));
    await expect(t.router.tell("account", "a", { n: 1 })).resolves.toBeUndefined();
    await turns();
    expect(t.transport.sent[0]!.req).toMatchObject({ k: "ask", type: "account", id: "a", msg: { n: 1 }, discard: true, tell: true });
    t.transport.sent[0]!.answer(null);
    t.router.tell("account", "a", { n: 2 });
    await turns();
    t.transport.sent[1]!.fail(new TimeoutError("never acknowledged")); // not retried: it may have been applied
    await turns();
    expect(failed.map((e) => ShoalError.is(e) && e.code)).toEqual([ErrorCode.TIMEOUT]);
    expect(t.transport.sent).toHaveLength(2);
    // Ids and type names that can never be valid are refused at once, and nothing is sent.
    for (const [type, id] of [
      ["account", ""],
      ["no such type!", "a"],
      ["account", "x".repeat(600)],
    ] as const) {
      expect(thrownCode(() => t.router.tell(type, id, {}))).toBe(ErrorCode.BAD_REQUEST);
    }
    void t.forwarded({ k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 1000, mapVersion: 1, hops: 0, discard: true, tell: true });
    await turns();
    expect(t.transport.sent.slice(2).map((x) => x.req)).toEqual([expect.objectContaining({ hops: 1, discard: true, tell: true })]);
  });

  it("retries a tell the owner could not take (UNAVAILABLE) on the newer map", async () => {
    const failed: unknown[] = [];
    const t = setup(mapOf(1, "old"), (err) => failed.push(err));
    t.router.tell("account", "a", { n: 1 });
    await turns();
    t.transport.sent[0]!.fail(new UnavailableError("no responders"));
    t.maps.set(mapOf(2, "new"));
    await turns();
    expect(t.transport.sent.map((x) => x.node)).toEqual(["old", "new"]);
    t.transport.sent[1]!.answer(null);
    await turns();
    expect(failed).toEqual([]);
  });

  it("keeps a sender's order across an owner change for tells: the new owner waits until the old owner's tells are acknowledged", async () => {
    const t = setup(mapOf(1, "old"));
    const sibling = ["b", "c", "d", "e", "f", "g"].find((id) => shardOf("account", id, SHARDS) === shardOf("account", "a", SHARDS))!;
    t.router.tell("account", "a", { n: 1 });
    t.router.tell("account", sibling, { n: 2 }); // another actor of the same shard: one lane
    await turns();
    t.maps.set(mapOf(2, "new"));
    t.router.tell("account", "a", { n: 3 });
    const asked = t.router.ask("account", "a", { n: 4 });
    await turns();
    expect(t.transport.sent.map((x) => x.node)).toEqual(["old", "old"]);
    t.transport.sent[0]!.answer(null);
    await turns();
    expect(t.transport.sent.map((x) => x.node)).toEqual(["old", "old"]); // one of the old owner's tells is still open
    t.transport.sent[1]!.answer(null);
    await turns();
    expect(t.transport.sent.map((x) => [x.node, (x.req as ForwardedAsk).msg])).toEqual([
      ["old", { n: 1 }],
      ["old", { n: 2 }],
      ["new", { n: 3 }],
      ["new", { n: 4 }],
    ]);
    t.transport.sent[3]!.answer("four");
    expect(await asked).toBe("four");
  });

  it("keeps one sender's order across an owner change: a new owner waits for the old owner's messages", async () => {
    const t = setup(mapOf(1, "old"));
    const first = t.router.ask("account", "a", { n: 1 });
    await turns();
    t.maps.set(mapOf(2, "new"));
    const second = t.router.ask("account", "a", { n: 2 });
    await turns();
    expect(t.transport.sent.map((s) => s.node)).toEqual(["old"]); // n2 waits for n1 to settle
    t.transport.sent[0]!.answer("one");
    await turns();
    expect(t.transport.sent.map((s) => s.node)).toEqual(["old", "new"]);
    t.transport.sent[1]!.answer("two");
    expect(await Promise.all([first, second])).toEqual(["one", "two"]);
  });

  it("retries on ACTOR_MOVED once a newer map arrives, within the deadline", async () => {
    const t = setup(mapOf(1, "old"));
    const p = t.router.ask("account", "a", {}, { timeout: 5000 });
    await turns();
    t.transport.sent[0]!.fail(new ActorMovedError("moved", { details: { owner: "new" } }));
    await turns();
    t.maps.set(mapOf(2, "new"));
    await turns();
    expect(t.transport.sent[1]!.node).toBe("new");
    t.transport.sent[1]!.answer("ok");
    expect(await p).toBe("ok");
  });

  it("waits, bounded, while a shard has no owner, then fails with UNAVAILABLE", async () => {
    const t = setup(mapOf(1, null));
    const waiting = t.router.ask("account", "a", {}, { timeout: 1000 });
    await turns();
    t.maps.set(mapOf(2, "me"));
    expect(await waiting).toBe("local:a");
    t.maps.set(mapOf(3, null));
    const failing = t.router.ask("account", "b", {}, { timeout: 1000 }).catch((e: unknown) => e);
    await turns();
    t.clock.advance(1001);
    const err = await failing;
    expect(ShoalError.is(err, ErrorCode.UNAVAILABLE) || ShoalError.is(err, ErrorCode.TIMEOUT)).toBe(true);
  });

  it("does not retry a TIMEOUT (the outcome is unknown) and bounds forwarding hops", async () => {
    const t = setup(mapOf(1, "other"));
    const p = t.router.ask("account", "a", {}).catch((e: unknown) => e);
    await turns();
    t.transport.sent[0]!.fail(new TimeoutError("slow"));
    expect(ShoalError.is(await p, ErrorCode.TIMEOUT)).toBe(true);
    expect(t.transport.sent).toHaveLength(1);
    const bounced = await t.forwarded({ k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 1000, mapVersion: 1, hops: 5 }).catch((e: unknown) => e);
    expect(ShoalError.is(bounced, ErrorCode.ACTOR_MOVED)).toBe(true);
  });

  it("judges a forwarded ask by a map at least as new as the sender's", async () => {
    const t = setup(mapOf(1, "other"));
    const p = t.forwarded({ k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 5000, mapVersion: 2, hops: 0 });
    await turns();
    expect(t.transport.sent).toHaveLength(0); // our map (v1) is older than the sender's: wait
    t.maps.set(mapOf(2, "me"));
    expect(await p).toBe("local:a");
    expect(shardOf("account", "a", SHARDS)).toBeGreaterThanOrEqual(0);
  });

  it("never makes a forwarded ask wait on this node's lane (it may be what the lane waits for)", async () => {
    const t = setup(mapOf(1, "other"));
    const original = t.router.ask("account", "a", {}, { timeout: 5000 }); // lane: 1 outstanding toward "other"
    await turns();
    t.maps.set(mapOf(2, "me"));
    // "other" has the newer map too and sends the same ask back here.
    const back = t.forwarded({ k: "ask", type: "account", id: "a", msg: {}, timeoutMs: 4000, mapVersion: 2, hops: 1 });
    expect(await back).toBe("local:a"); // served at once, not after the lane's timeout
    t.transport.sent[0]!.answer(await back);
    expect(await original).toBe("local:a");
  });
});
