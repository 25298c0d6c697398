import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { NatsTransport } from "../cluster/transport.js";
import { replySubjectPrefix, rpcSubject } from "../src/nats-names.js";
import type { ForwardedAsk, RpcRequest } from "../cluster/wire.js";
import { ErrorCode, RejectedError } from "../src/errors.js";
import { settleWith } from "../src/reply-to.js";
import { uniqueCluster } from "./cluster-helpers.js";
import { outcome } from "../test/support/outcomes.js";

/**
 * The coalescing node transport on a real server: what one job asks of a peer travels as one
 * NATS message each way, in order; failures stay per request; a peer that is not there is
 * UNAVAILABLE at once, not a timeout.
 */
const ask = (id: string, msg: unknown = {}): ForwardedAsk => ({ k: "ask", type: "echo", id, msg, timeoutMs: 5000, mapVersion: 1, hops: 0 });

let conns: NatsConnection[] = [];
let a: NatsTransport;
let b: NatsTransport;
let tap: NatsConnection;
const cluster = uniqueCluster("transport");
const handled: string[] = [];
const messages = { rpc: 0, replies: 0 };

beforeAll(async () => {
  const open = async () => {
    const nc = await connect({ servers: inject("natsUrl") });
    conns.push(nc);
    return nc;
  };
  tap = await open();
  tap.subscribe(rpcSubject(cluster, "b"), {
    callback: () => {
      messages.rpc++;
    },
  });
  tap.subscribe(`${replySubjectPrefix(cluster, "a")}.*`, {
    callback: () => {
      messages.replies++;
    },
  });
  await tap.flush();
  a = new NatsTransport(await open(), cluster, "a");
  b = new NatsTransport(await open(), cluster, "b");
  const serve = async (req: RpcRequest): Promise<unknown> => {
    if (req.k !== "ask") throw new RejectedError("asks only");
    handled.push(req.id);
    const m = req.msg as { fail?: boolean; big?: number };
    if (m.fail) throw new RejectedError(`no ${req.id}`);
    if (m.big !== undefined) return "x".repeat(m.big);
    return `re:${req.id}`;
  };
  b.serve((req, to) => settleWith(serve(req), to));
  await conns[2]!.flush();
});

afterAll(async () => {
  await b.stop();
  a.close();
  b.close();
  await Promise.all(conns.map((nc) => nc.close()));
  conns = [];
});

describe("NatsTransport", () => {
  it("sends what one job asks of a peer as one message (64 at most), handled in order, with one reply message per batch", async () => {
    for (const [count, batches] of [
      [50, 1],
      [150, 3],
    ] as const) {
      const before = { ...messages, handled: handled.length };
      const ids = Array.from({ length: count }, (_, i) => `k${count}-${i}`);
      const replies = await Promise.all(ids.map((id) => a.request("b", ask(id), 5000)));
      expect(replies).toEqual(ids.map((id) => `re:${id}`));
      expect(handled.slice(before.handled)).toEqual(ids);
      await tap.flush();
      expect(messages.rpc - before.rpc).toBe(batches);
      expect(messages.replies - before.replies).toBe(batches);
    }
  });

  it("keeps failures per request: a rejected ask and an oversized reply fail alone", async () => {
    const max = conns[1]!.info!.max_payload;
    const [ok, rejected, tooBig, after] = await Promise.all([
      outcome(a.request("b", ask("ok"), 5000)),
      outcome(a.request("b", ask("bad", { fail: true }), 5000)),
      outcome(a.request("b", ask("huge", { big: max }), 5000)),
      outcome(a.request("b", ask("after"), 5000)),
    ]);
    expect(ok).toEqual({ ok: "re:ok" });
    expect(rejected).toEqual({ err: ErrorCode.REJECTED });
    expect(tooBig).toEqual({ err: ErrorCode.BAD_REQUEST });
    expect(after).toEqual({ ok: "re:after" });
  });

  it("refuses a request too big for one message without sending the rest of its batch astray", async () => {
    const max = conns[1]!.info!.max_payload;
    const [big, small] = await Promise.all([outcome(a.request("b", ask("big", "x".repeat(max)), 5000)), outcome(a.request("b", ask("small"), 5000))]);
    expect(big).toEqual({ err: ErrorCode.BAD_REQUEST });
    expect(small).toEqual({ ok: "re:small" });
  });

  it("answers a send (discard) with null, not with what the handler returned", async () => {
    expect(await a.request("b", { ...ask("told"), discard: true }, 5000)).toBeNull();
    expect(await a.request("b", ask("asked"), 5000)).toBe("re:asked");
  });

  it("acknowledges the tells of a batch together once each is handled, and reports how many failed", async () => {
    const failed: Array<[string, number]> = [];
    a.onTellsFailed((node, n) => failed.push([node, n]));
    const tell = (id: string, msg: unknown = {}) => a.request("b", { ...ask(id, msg), discard: true, tell: true }, 5000);
    await tap.flush(); // the tap has seen every message of the tests before
    const before = { ...messages, handled: handled.length };
    const answers = await Promise.all([tell("p1"), tell("p2", { fail: true }), a.request("b", ask("q"), 5000), tell("p3"), tell("p4", { fail: true })]);
    expect(answers).toEqual([null, null, "re:q", null, null]);
    expect(handled.slice(before.handled)).toEqual(["p1", "p2", "q", "p3", "p4"]);
    expect(failed).toEqual([["b", 2]]);
    await tap.flush();
    // One message each way: the ask's reply and the tells' one acknowledgement travel together.
    expect(messages.rpc - before.rpc).toBe(1);
    expect(messages.replies - before.replies).toBe(1);
  });

  it("answers UNAVAILABLE (the server's no-responders status), not TIMEOUT, for a peer nobody serves", async () => {
    expect(await outcome(a.request("nobody", ask("x"), 60_000))).toEqual({ err: ErrorCode.UNAVAILABLE });
    expect(await outcome(a.request("nobody", { ...ask("y"), discard: true, tell: true }, 60_000))).toEqual({ err: ErrorCode.UNAVAILABLE });
  });
});
