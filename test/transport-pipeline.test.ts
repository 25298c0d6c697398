import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { NatsTransport } from "../cluster/transport.js";
import { rpcSubject } from "../src/nats-names.js";
import type { RpcRequest } from "../cluster/wire.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { type ReplyTo, settleWith } from "../src/reply-to.js";
import { turns } from "./support/turns.js";

/**
 * How a node takes batches that arrive together (one socket read): each in a job of its own,
 * so the replies to the first leave before the second is started, in the order sent — and
 * reading never runs more than a few batches ahead of handling. A fake connection stands in
 * for NATS: it records publishes and hands messages to the subscription synchronously.
 */
class FakeConnection {
  readonly subs = new Map<string, (err: Error | null, msg: Msg) => void>();
  readonly timeline: string[] = [];
  readonly info = { max_payload: 1024 * 1024 };
  subscribe(subject: string, opts: { callback: (err: Error | null, msg: Msg) => void }) {
    this.subs.set(subject, opts.callback);
    return { unsubscribe: () => undefined, drain: async () => undefined };
  }
  publish(subject: string, data: Uint8Array): void {
    const entries = codec.decode(data) as Array<[number, unknown]>;
    this.timeline.push(`reply ${subject} ${entries.map((e) => e[0]).join(",")}`);
  }
  /** Delivers a request batch `[corr, flat ask]…` to `subject`, as the client library would. */
  deliver(subject: string, batch: number, ids: string[]): void {
    const entries = ids.map((id, i) => [i + 1, "account", id, {}, 1000, 0, 0, null, 0]);
    this.subs.get(subject)!(null, { subject, data: codec.encode(entries), reply: `re.${batch}`, headers: undefined } as unknown as Msg);
  }
}

const codec = new MsgpackCodec();

function node() {
  const nc = new FakeConnection();
  const t = new NatsTransport(nc as unknown as NatsConnection, "c", "b");
  t.serve((req: RpcRequest, to) => {
    if (req.k === "ask") nc.timeline.push(`handle ${req.id}`);
    settleWith(Promise.resolve(null), to);
  });
  return { nc, subject: rpcSubject("c", "b") };
}

describe("NatsTransport, batches arriving together", () => {
  it("handles them one job each, oldest first, the first one's replies leaving before the second starts", async () => {
    const { nc, subject } = node();
    nc.deliver(subject, 1, ["a1", "a2"]);
    nc.deliver(subject, 2, ["b1", "b2"]);
    nc.deliver(subject, 3, ["c1"]);
    await turns(10);
    expect(nc.timeline).toEqual(["handle a1", "handle a2", "reply re.1 1,2", "handle b1", "handle b2", "reply re.2 1,2", "handle c1", "reply re.3 1"]);
  });

  it("never lets more than a few batches wait: past them, the oldest are handled at once", async () => {
    const { nc, subject } = node();
    for (let b = 1; b <= 40; b++) nc.deliver(subject, b, [`x${b}`]);
    const handledAtOnce = nc.timeline.filter((e) => e.startsWith("handle")).length;
    expect(handledAtOnce).toBeGreaterThanOrEqual(40 - 16);
    await turns(60);
    expect(nc.timeline.filter((e) => e.startsWith("handle"))).toEqual(Array.from({ length: 40 }, (_, i) => `handle x${i + 1}`));
    expect(nc.timeline.filter((e) => e.startsWith("reply"))).toHaveLength(40);
  });

  it("a stop waits until every request it took has been answered, then sends the answers", async () => {
    const nc = new FakeConnection();
    const t = new NatsTransport(nc as unknown as NatsConnection, "c", "b");
    const held: Array<{ id: string; to: ReplyTo }> = [];
    t.serve((req, to) => {
      if (req.k === "ask") held.push({ id: req.id, to });
    });
    const subject = rpcSubject("c", "b");
    nc.deliver(subject, 1, ["a1", "a2"]);
    nc.deliver(subject, 2, ["b1"]);
    await turns(5);
    expect(held.map((h) => h.id)).toEqual(["a1", "a2", "b1"]);
    let stopped = false;
    const stop = t.stop(60_000).then(() => (stopped = true));
    held[0]!.to.ok("one");
    held[2]!.to.fail(new Error("boom"));
    await turns(5);
    expect(stopped).toBe(false); // a2 of the first batch is still owed
    held[1]!.to.ok("two");
    held[1]!.to.ok("twice"); // a second answer is dropped
    await stop;
    expect(nc.timeline.filter((e) => e.startsWith("reply")).sort()).toEqual(["reply re.1 1", "reply re.1 2", "reply re.2 1"]);
  });
});
