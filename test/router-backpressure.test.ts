/** The router's bound on tells in flight per lane: waiting in order, failing fast, deadlines, retries. */
import { describe, expect, it } from "vitest";
import type { ForwardedAsk } from "../cluster/wire.js";
import { ErrorCode, ShoalError, UnavailableError } from "../src/errors.js";
import type { ReplyTo } from "../src/reply-to.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { thrownCode } from "./support/outcomes.js";
import { mapOf, SHARDS, setup } from "./support/router-rig.js";
import { turns } from "./support/turns.js";

/** Whether `p` has settled by now (after the reactions already queued). */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await turns(2);
  return done;
}

/** An id of `account` in another shard than `a`, and one in the same (one lane). */
const otherShard = ["b", "c", "d", "e", "f", "g", "h"].find((id) => shardOf("account", id, SHARDS) !== shardOf("account", "a", SHARDS))!;
const sameShard = ["b", "c", "d", "e", "f", "g", "h"].find((id) => shardOf("account", id, SHARDS) === shardOf("account", "a", SHARDS))!;

const msgs = (t: ReturnType<typeof setup>) => t.transport.sent.map((s) => [s.node, (s.req as ForwardedAsk).msg]);

describe("router: tells bounded per lane", () => {
  it("past tellBound a tell waits, its promise pending; what is started after it for the lane waits behind it; other lanes go on", async () => {
    const held: string[] = [];
    const t = setup(mapOf(1, "other"), undefined, { tellBound: 2, onTellHeld: (o) => void held.push(o) });
    const first = t.router.tell("account", "a", { n: 1 });
    const second = t.router.tell("account", sameShard, { n: 2 });
    const third = t.router.tell("account", "a", { n: 3 });
    const asked = t.router.ask("account", "a", { n: 4 }); // asks are not bounded, but keep their place
    void t.router.tell("account", otherShard, { n: 5 }); // another lane
    expect(await settledNow(first)).toBe(true);
    expect(await settledNow(second)).toBe(true);
    expect(await settledNow(third)).toBe(false);
    expect(msgs(t)).toEqual([
      ["other", { n: 1 }],
      ["other", { n: 2 }],
      ["other", { n: 5 }],
    ]);
    expect(held).toEqual(["waited"]);

    t.transport.sent[0]!.answer(null); // the owner acknowledged a tell: room for one more
    expect(await settledNow(third)).toBe(true);
    expect(msgs(t).slice(3)).toEqual([
      ["other", { n: 3 }],
      ["other", { n: 4 }],
    ]);
    t.transport.sent[4]!.answer("four");
    expect(await asked).toBe("four");
  });

  it("with onFull fail (the call's, or the node's default) a tell past the bound throws OVERLOADED and sends nothing", async () => {
    const held: string[] = [];
    const t = setup(mapOf(1, "other"), undefined, { tellBound: 1, onTellHeld: (o) => void held.push(o) });
    void t.router.tell("account", "a", { n: 1 });
    expect(thrownCode(() => t.router.tell("account", "a", { n: 2 }, { onFull: "fail" }))).toBe(ErrorCode.OVERLOADED);
    expect(thrownCode(() => t.router.tell("account", "a", { n: 3 }, { onFull: "drop" as never }))).toBe(ErrorCode.BAD_REQUEST);
    await turns();
    expect(msgs(t)).toEqual([["other", { n: 1 }]]);
    expect(held).toEqual(["refused"]);
    t.transport.sent[0]!.answer(null);
    await expect(t.router.tell("account", "a", { n: 4 }, { onFull: "fail" })).resolves.toBeUndefined(); // room again
    await turns();
    expect(msgs(t)).toEqual([
      ["other", { n: 1 }],
      ["other", { n: 4 }],
    ]);

    const f = setup(mapOf(1, "other"), undefined, { tellBound: 1, tellOnFull: "fail" });
    void f.router.tell("account", "a", { n: 1 });
    expect(thrownCode(() => f.router.tell("account", "a", { n: 2 }))).toBe(ErrorCode.OVERLOADED);
    const waits = f.router.tell("account", "a", { n: 3 }, { onFull: "wait" });
    expect(await settledNow(waits)).toBe(false);
    expect(() => setup(mapOf(1, "other"), undefined, { tellBound: 0 })).toThrow(RangeError);
  });

  it("a tell that waits past its deadline fails with TIMEOUT to the hook, its promise resolves, and what waited behind it goes", async () => {
    const failed: unknown[] = [];
    const t = setup(mapOf(1, "other"), (err) => failed.push(err), { tellBound: 1 });
    void t.router.tell("account", "a", { n: 1 });
    const late = t.router.tell("account", "a", { n: 2 }, { timeout: 100 });
    const asked = t.router.ask("account", "a", { n: 3 }, { timeout: 10_000 });
    await turns();
    expect(msgs(t)).toEqual([["other", { n: 1 }]]);
    t.clock.advance(101);
    await expect(late).resolves.toBeUndefined();
    expect(failed.map((e) => ShoalError.is(e) && e.code)).toEqual([ErrorCode.TIMEOUT]);
    await turns();
    expect(msgs(t)).toEqual([
      ["other", { n: 1 }],
      ["other", { n: 3 }],
    ]);
    t.transport.sent[1]!.answer("three");
    expect(await asked).toBe("three");
  });

  it("waiting tells keep their order across an owner change: they go to the new owner once the old one has acknowledged its own", async () => {
    const t = setup(mapOf(1, "old"), undefined, { tellBound: 1 });
    for (let n = 1; n <= 3; n++) void t.router.tell("account", "a", { n });
    await turns();
    t.maps.set(mapOf(2, "new"));
    void t.router.tell("account", "a", { n: 4 });
    await turns();
    expect(msgs(t)).toEqual([["old", { n: 1 }]]);
    for (let i = 0; i < 3; i++) {
      t.transport.sent[i]!.answer(null);
      await turns();
    }
    expect(msgs(t)).toEqual([
      ["old", { n: 1 }],
      ["new", { n: 2 }],
      ["new", { n: 3 }],
      ["new", { n: 4 }],
    ]);
  });

  it("a message its owner could not take keeps its place in its lane while it waits for a newer map", async () => {
    const t = setup(mapOf(1, "old"), undefined, { tellBound: 1 });
    void t.router.tell("account", "a", { n: 1 });
    void t.router.tell("account", "a", { n: 2 }); // waits for room
    await turns();
    t.transport.sent[0]!.fail(new UnavailableError("no responders")); // frees the room, but n1 goes first
    await turns();
    expect(msgs(t)).toEqual([["old", { n: 1 }]]);
    t.maps.set(mapOf(2, "new"));
    await turns();
    expect(msgs(t)).toEqual([
      ["old", { n: 1 }],
      ["new", { n: 1 }],
    ]);
    t.transport.sent[1]!.answer(null);
    await turns();
    expect(msgs(t).at(-1)).toEqual(["new", { n: 2 }]);
  });

  it("lets a long lane go in order without recursion when its owner answers at once", async () => {
    let flowing = false;
    const first: ReplyTo[] = [];
    const ran: number[] = [];
    const t = setup(mapOf(1, "me"), undefined, {
      tellBound: 1,
      local: {
        deliver: (_t, _id, msg, _d, to) => {
          ran.push((msg as { n: number }).n);
          if (flowing) to.ok(null);
          else first.push(to);
        },
      },
    });
    const n = 20_000;
    for (let i = 1; i <= n; i++) void t.router.tell("account", "a", { n: i });
    expect(ran).toEqual([1]);
    flowing = true;
    first[0]!.ok(null); // every other one is answered inside its own send
    expect(ran).toHaveLength(n);
    expect(ran.every((v, i) => v === i + 1)).toBe(true);
  });
});
