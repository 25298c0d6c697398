/**
 * What the topic broker added to the outbox: a message sent to many receivers is stored once
 * per batch (and per snapshot), a turn can abandon what a receiver has not acknowledged (durably),
 * and the postbox reports its failing receivers. Pure, or over a manual clock.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { msgpack } from "../src/codec/msgpack.js";
import { InternalError } from "../src/errors.js";
import { batchMeta, mailForm, mailFromJournal, parseBatchMeta, parseMail } from "../src/runtime/outgoing.js";
import { Postbox, type PostboxHost } from "../src/runtime/postbox.js";
import type { ActorKey } from "../src/store/types.js";
import { turns } from "./support/turns.js";

const fail = (what: string) => new InternalError(what);

describe("one message for many receivers", () => {
  const msg = { got: { n: 1, text: "x".repeat(1000) } };
  const sent = Array.from({ length: 100 }, (_, k) => ({ type: "sub", id: `s${k}`, msg, tell: true }));

  it("is stored once in a batch's meta and comes back as one object", () => {
    const meta = batchMeta(sent, undefined, undefined)!;
    expect(meta.o![0]).toEqual(["sub", "s0", msg, 1]);
    expect(meta.o![1]).toEqual(["sub", "s1", null, 1, 0]);
    expect(msgpack.encode(meta).length).toBeLessThan(3000);
    const back = parseBatchMeta(msgpack.decode(msgpack.encode(meta)), fail);
    expect(back.sent.map((s) => s.msg === back.sent[0]!.msg)).toEqual(sent.map(() => true));
    expect(back.sent[99]).toEqual({ type: "sub", id: "s99", msg, tell: true });
  });

  it("is stored once in a snapshot's (and a handoff's) mail, also across batches", () => {
    const outbox = sent.map((s, i) => ({ ...s, v: 3 + (i % 2), i }));
    const form = mailForm({ outbox, seen: [], acked: 2 })!;
    expect(msgpack.encode(form).length).toBeLessThan(3000);
    const back = parseMail(msgpack.decode(msgpack.encode(form)), fail);
    expect(back.outbox).toEqual(outbox);
    expect(new Set(back.outbox.map((o) => o.msg)).size).toBe(1);
  });

  it("refuses a reference that is not to an earlier entry", () => {
    expect(() => parseBatchMeta({ o: [["sub", "a", null, 1, 0]] }, fail)).toThrow(InternalError);
    expect(() =>
      parseBatchMeta(
        {
          o: [
            ["sub", "a", 1, 1],
            ["sub", "b", 2, 1, 0],
          ],
        },
        fail,
      ),
    ).toThrow(InternalError);
    expect(() =>
      parseMail(
        {
          a: 0,
          p: [
            ["sub", "a", 1, 1, 3, 0],
            ["sub", "b", null, 1, 3, 1, 1],
          ],
        },
        fail,
      ),
    ).toThrow(InternalError);
  });
});

describe("abandoned messages", () => {
  it("are not sent again by whoever loads the sender next: only those of batches before the abandon", () => {
    const metas = [
      {
        version: 1,
        meta: batchMeta(
          [
            { type: "sub", id: "dead", msg: 1, tell: true },
            { type: "sub", id: "live", msg: 1, tell: true },
          ],
          undefined,
          undefined,
        ),
      },
      { version: 2, meta: batchMeta([{ type: "sub", id: "dead", msg: 2, tell: true }], undefined, undefined) },
      { version: 3, meta: batchMeta([{ type: "sub", id: "dead", msg: 3, tell: true }], undefined, undefined, [{ type: "sub", id: "dead" }]) },
    ];
    const mail = mailFromJournal(undefined, metas, fail)!;
    expect(mail.outbox.map((o) => `${o.id}:${o.msg}`)).toEqual(["live:1", "dead:3"]);
    expect(() => parseBatchMeta({ x: [["sub"]] }, fail)).toThrow(InternalError);
  });
});

describe("the postbox", () => {
  class Host implements PostboxHost {
    readonly clock = new ManualClock();
    readonly calls: Array<{ to: string; msg: unknown; settle: (err?: unknown) => void }> = [];
    deliverOutgoing(to: ActorKey, msg: unknown): Promise<void> {
      return new Promise((ok, no) => this.calls.push({ to: to.id, msg, settle: (err) => (err === undefined ? ok() : no(err)) }));
    }
    outgoingRefused(): void {}
    outgoingStuck(): void {}
  }
  const out = (id: string, msg: number, v: number) => ({ type: "sub", id, msg, tell: true, v, i: 0 });

  it("reports a failing receiver with its attempts and last code, and forgets it once a delivery gets through", async () => {
    const host = new Host();
    const box = new Postbox({ type: "b", id: "g" }, host);
    box.add([out("a", 1, 1), out("b", 1, 1)]);
    host.calls[0]!.settle(new InternalError("broken"));
    await turns(2);
    host.clock.advance(50);
    host.calls[2]!.settle(new InternalError("still"));
    await turns(2);
    expect(box.failing()).toEqual([{ type: "sub", id: "a", attempts: 2, code: "INTERNAL", pending: 1 }]);
    host.clock.advance(100);
    host.calls[3]!.settle();
    await turns(2);
    expect(box.failing()).toEqual([]);
  });

  it("abandons a receiver's queue, the delivery in flight included: a late answer changes nothing, new messages go", async () => {
    const host = new Host();
    const box = new Postbox({ type: "b", id: "g" }, host);
    box.add([out("a", 1, 1), out("a", 2, 2), out("b", 1, 2)]);
    expect([box.pending, box.pendingTo("sub", "a"), box.acked]).toEqual([3, 2, 0]);
    expect(box.abandon("sub", "a")).toBe(2);
    expect([box.pending, box.pendingTo("sub", "a"), box.acked]).toEqual([1, 0, 1]);
    box.add([out("a", 3, 3)]);
    host.calls[0]!.settle(); // the abandoned delivery of a:1 answers late
    await turns(2);
    expect(box.pendingTo("sub", "a")).toBe(1);
    expect(host.calls.map((c) => `${c.to}:${c.msg}`)).toEqual(["a:1", "b:1", "a:3"]);
  });
});
