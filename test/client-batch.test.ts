import type { Msg } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { BATCH_FLUSH_BYTES, CallBatcher, MAX_BATCH_CALLS, type SendBatch } from "../src/client-batch.js";
import { decodeJson, encodeJson } from "../src/codec/json.js";
import { ErrorCode, ShoalError } from "../src/errors.js";

/** A fake transport: records each batch sent and answers it with `answer(requests)`. */
function transport(answer: (requests: unknown[]) => unknown | Error) {
  const sent: Array<{ subject: string; timeout: number; requests: unknown[]; bytes: number }> = [];
  const send: SendBatch = async (subject, data, timeout) => {
    const requests = decodeJson(data) as unknown[];
    sent.push({ subject, timeout, requests, bytes: data.length });
    const a = answer(requests);
    if (a instanceof Error) throw a;
    return { data: encodeJson(a) } as Msg;
  };
  return { send, sent };
}

const body = (n: number) => encodeJson({ type: "t", id: `a${n}`, msg: { n } });
const echo = (requests: unknown[]) => requests.map((r) => ({ ok: true, reply: (r as { msg: unknown }).msg }));

describe("CallBatcher", () => {
  it("sends the calls of one job for one subject and timeout as one JSON array, and gives each its own answer", async () => {
    const t = transport(echo);
    const b = new CallBatcher(t.send);
    const calls = [
      ...[1, 2, 3].map((n) => b.call("s.a", body(n), 1000)),
      b.call("s.b", body(4), 1000),
      b.call("s.a", body(5), 2000), // another timeout: another batch
    ];
    expect(t.sent).toHaveLength(0); // nothing leaves before the end of the job
    const answers = await Promise.all(calls);
    expect(answers.map((a) => (a.ok ? a.reply : a.error))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
    expect(t.sent.map((s) => [s.subject, s.timeout, s.requests.length])).toEqual([
      ["s.a", 1000, 3],
      ["s.b", 1000, 1],
      ["s.a", 2000, 1],
    ]);
  });

  it("sends a full batch at once and starts the next", async () => {
    const t = transport(echo);
    const b = new CallBatcher(t.send);
    const calls = Array.from({ length: MAX_BATCH_CALLS + 3 }, (_, n) => b.call("s", body(n), 1000));
    expect(t.sent).toHaveLength(1);
    await Promise.all(calls);
    expect(t.sent.map((s) => s.requests.length)).toEqual([MAX_BATCH_CALLS, 3]);
  });

  it("sends a batch before a call that would take it past the byte limit, so a batch is never larger than the limit or its one call", async () => {
    const t = transport(echo);
    const b = new CallBatcher(t.send);
    const big = (n: number, size: number) => encodeJson({ type: "t", id: `a${n}`, msg: { n, pad: "x".repeat(size) } });
    const calls = [body(1), big(2, BATCH_FLUSH_BYTES / 2), big(3, BATCH_FLUSH_BYTES / 2), body(4), big(5, BATCH_FLUSH_BYTES * 2)].map((c) =>
      b.call("s", c, 1000),
    );
    const answers = await Promise.all(calls);
    expect(answers.map((a) => (a.ok ? (a.reply as { n: number }).n : 0))).toEqual([1, 2, 3, 4, 5]);
    expect(t.sent.map((s) => s.requests.map((r) => (r as { msg: { n: number } }).msg.n))).toEqual([[1, 2], [3, 4], [5]]);
    for (const s of t.sent) if (s.requests.length > 1) expect(s.bytes).toBeLessThanOrEqual(BATCH_FLUSH_BYTES);
  });

  it("fails every call of a batch the node refused as a whole, or answered with the wrong count", async () => {
    const refused = new CallBatcher(transport(() => ({ ok: false, error: { code: "BAD_REQUEST", message: "no" } })).send);
    const r = await Promise.allSettled([refused.call("s", body(1), 1000), refused.call("s", body(2), 1000)]);
    expect(r.map((x) => x.status === "rejected" && ShoalError.is(x.reason, ErrorCode.BAD_REQUEST))).toEqual([true, true]);
    const short = new CallBatcher(transport((reqs) => echo(reqs).slice(1)).send);
    const s = await Promise.allSettled([short.call("s", body(1), 1000), short.call("s", body(2), 1000)]);
    expect(s.map((x) => x.status)).toEqual(["rejected", "rejected"]);
  });

  it("fails every call with the transport's error, for the caller to judge (no responders: send again)", async () => {
    const err = new Error("no responders");
    const b = new CallBatcher(transport(() => err).send);
    const r = await Promise.allSettled([b.call("s", body(1), 1000), b.call("s", body(2), 1000)]);
    expect(r.map((x) => (x.status === "rejected" ? x.reason : undefined))).toEqual([err, err]);
  });

  it("gives a malformed answer entry to its own call only", async () => {
    const b = new CallBatcher(transport((reqs) => [{ ok: true, reply: 1 }, "garbage", ...echo(reqs).slice(2)]).send);
    const r = await Promise.allSettled([1, 2, 3].map((n) => b.call("s", body(n), 1000)));
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
