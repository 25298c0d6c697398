import { encode } from "@msgpack/msgpack";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { account } from "../src/actors/account.js";
import { ShoalClient } from "../src/client.js";
import { decodeJson } from "../src/codec/json.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { ActorHost } from "../src/host.js";
import { nodeBatchSubject } from "../src/nats-names.js";

const te = new TextEncoder();
let nc: NatsConnection;
let host: ActorHost;
let client: ShoalClient;
const cluster = `ingress${process.pid}`;
const subject = `shoal.${cluster}.ask`;

beforeAll(async () => {
  nc = await connect({ servers: inject("natsUrl") });
  host = await ActorHost.start({ nc, cluster, nodeId: "n1", actors: [account] });
  host.serve();
  client = new ShoalClient(nc, cluster);
});

afterAll(async () => {
  await host?.stop();
  await nc?.close();
});

async function raw(body: Uint8Array, msgpack = false): Promise<{ ok: boolean; reply?: unknown; error?: { code: string; message: string } }> {
  const opts = msgpack ? { timeout: 5000, headers: Object.assign(headers(), {}) } : { timeout: 5000 };
  if (msgpack) opts.headers!.set("Content-Type", "application/msgpack");
  const r = await nc.request(subject, body, opts);
  return (msgpack ? new MsgpackCodec().decode(r.data) : decodeJson(r.data)) as never;
}

describe("ingress (shoal.<cluster>.ask) on a real nats-server", () => {
  it("answers the DESIGN contract in JSON", async () => {
    const r = await raw(te.encode(JSON.stringify({ type: "account", id: "json-1", msg: { deposit: { amount: 5, txn: "a" } } })));
    expect(r).toEqual({ ok: true, reply: { balance: 5, version: 1, node: "n1", applied: true } });
  });

  it("answers MessagePack with MessagePack", async () => {
    const r = await raw(encode({ type: "account", id: "mp-1", msg: { deposit: { amount: 7, txn: "a" } } }), true);
    expect(r).toEqual({ ok: true, reply: { balance: 7, version: 1, node: "n1", applied: true } });
  });

  it("keeps ids with NATS special characters apart", async () => {
    const ids = ["a.b", "a", "b", "*", ">", "a b", "a.*.>", "émoji 🐟", "x".repeat(512)];
    for (const [i, id] of ids.entries()) await client.ask("account", id, { deposit: { amount: i + 1, txn: "t" } });
    for (const [i, id] of ids.entries()) {
      expect(await client.ask("account", id, { balance: {} })).toMatchObject({ balance: i + 1, version: 1 });
    }
  });

  it("gives every hostile input a clear error and changes nothing", async () => {
    const deep = JSON.stringify({ type: "account", id: "h", msg: JSON.parse("[".repeat(60) + "]".repeat(60)) });
    const cases: Array<[string, Uint8Array, string]> = [
      ["malformed JSON", te.encode("{nope"), ErrorCode.BAD_REQUEST],
      ["not an object", te.encode("[1,2]"), ErrorCode.BAD_REQUEST],
      ["prototype key", te.encode('{"type":"account","id":"h","msg":{"__proto__":{"x":1}}}'), ErrorCode.BAD_REQUEST],
      ["constructor key", te.encode('{"type":"account","id":"h","msg":{"constructor":{}}}'), ErrorCode.BAD_REQUEST],
      ["deep nesting", te.encode(deep), ErrorCode.BAD_REQUEST],
      ["unknown type", te.encode('{"type":"bank","id":"h","msg":{}}'), ErrorCode.UNKNOWN_ACTOR_TYPE],
      ["bad type name", te.encode('{"type":"acc.ount","id":"h","msg":{}}'), ErrorCode.BAD_REQUEST],
      ["empty id", te.encode('{"type":"account","id":"","msg":{"balance":{}}}'), ErrorCode.BAD_REQUEST],
      ["long id", te.encode(JSON.stringify({ type: "account", id: "x".repeat(513), msg: { balance: {} } })), ErrorCode.BAD_REQUEST],
      ["numeric id", te.encode('{"type":"account","id":5,"msg":{"balance":{}}}'), ErrorCode.BAD_REQUEST],
      ["no msg", te.encode('{"type":"account","id":"h"}'), ErrorCode.BAD_REQUEST],
      ["extra field", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"x":1}'), ErrorCode.BAD_REQUEST],
      ["bad message", te.encode('{"type":"account","id":"h","msg":{"deposit":{"amount":"5","txn":"a"}}}'), ErrorCode.BAD_REQUEST],
      ["bad timeout", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"timeoutMs":-1}'), ErrorCode.BAD_REQUEST],
      ["seq without sender", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"seq":1}'), ErrorCode.BAD_REQUEST],
      ["sender without seq", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"sender":"c"}'), ErrorCode.BAD_REQUEST],
      ["seq 0", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"sender":"c","seq":0}'), ErrorCode.BAD_REQUEST],
      ["fractional seq", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"sender":"c","seq":1.5}'), ErrorCode.BAD_REQUEST],
      ["settled not below seq", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"sender":"c","seq":3,"settled":3}'), ErrorCode.BAD_REQUEST],
      ["sender with a space", te.encode('{"type":"account","id":"h","msg":{"balance":{}},"sender":"c 1","seq":1}'), ErrorCode.BAD_REQUEST],
      ["long sender", te.encode(JSON.stringify({ type: "account", id: "h", msg: { balance: {} }, sender: "s".repeat(65), seq: 1 })), ErrorCode.BAD_REQUEST],
      ["invalid UTF-8", Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), ErrorCode.BAD_REQUEST],
      ["empty body", new Uint8Array(0), ErrorCode.BAD_REQUEST],
    ];
    for (const [name, body, code] of cases) {
      const r = await raw(body);
      expect(r.ok, name).toBe(false);
      expect(r.error?.code, name).toBe(code);
      expect(r.error?.message.length, name).toBeGreaterThan(0);
    }
    const mp = await raw(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]), true);
    expect(mp.error?.code).toBe(ErrorCode.BAD_REQUEST);
    expect(await host.store.version({ type: "account", id: "h" })).toBe(0);
    expect(host.runtime.isActive("account", "h")).toBe(false);
    // Still serving.
    expect(await client.ask("account", "h", { balance: {} })).toMatchObject({ balance: 0, version: 0 });
  });

  it("applies a raw client's sender/seq in order and refuses one that comes after a later one, as OUT_OF_ORDER", async () => {
    const body = (seq: number, txn: string) =>
      te.encode(JSON.stringify({ type: "account", id: "ordered", msg: { deposit: { amount: 1, txn } }, sender: "raw-client", seq }));
    expect(await raw(body(1, "o1"))).toMatchObject({ ok: true });
    expect(await raw(body(2, "o2"))).toMatchObject({ ok: true });
    expect(await raw(body(1, "o3"))).toEqual({
      ok: false,
      error: { code: ErrorCode.OUT_OF_ORDER, message: expect.any(String), details: { sender: "raw-client", seq: 1, expected: 3 } },
    });
    expect(await client.ask("account", "ordered", { balance: {} })).toMatchObject({ balance: 2 });
  });

  it("surfaces domain refusals as REJECTED through the client", async () => {
    const err = await client.ask("account", "poor", { withdraw: { amount: 1, txn: "w" } }).catch((e: unknown) => e);
    expect(ShoalError.is(err, ErrorCode.REJECTED)).toBe(true);
    expect((err as ShoalError).details).toEqual({ balance: 0, amount: 1 });
  });

  it("send answers null once the turn is applied; a bad verb is a BAD_REQUEST that changes nothing", async () => {
    const body = (msg: unknown, verb?: unknown) => te.encode(JSON.stringify({ type: "account", id: "verb-send", msg, verb }));
    expect(await raw(body({ deposit: { amount: 4, txn: "s1" } }, "send"))).toEqual({ ok: true, reply: null });
    expect(await raw(body({ deposit: { amount: 4, txn: "s2" } }, "shout"))).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    expect(await raw(body({ balance: {} }, "ask"))).toEqual({ ok: true, reply: { balance: 4, version: 1, node: "n1" } });
    await expect(client.send("account", "verb-send", { deposit: { amount: 1, txn: "s3" } })).resolves.toBeUndefined();
    await expect(client.send("account", "verb-send", { withdraw: { amount: 99, txn: "s4" } })).rejects.toMatchObject({ code: "REJECTED" });
  });

  it("a tell is applied; without a reply subject it is never answered, with one it is answered once the node has taken it", async () => {
    const id = "verb-tell";
    const inbox = `_INBOX.tell-${process.pid}`;
    const answers: unknown[] = [];
    const sub = nc.subscribe(inbox, { callback: (_e, m) => void answers.push(decodeJson(m.data)) });
    try {
      const tell = (txn: string) => te.encode(JSON.stringify({ type: "account", id, msg: { deposit: { amount: 1, txn } }, verb: "tell" }));
      nc.publish(subject, tell("t1"));
      nc.publish(subject, tell("t2"), { reply: inbox });
      await client.tell("account", id, { deposit: { amount: 1, txn: "t3" } });
      await client.tell("account", id, { withdraw: { amount: 1000, txn: "refused" } }); // fails at the node; nobody hears
      // Handled in order on the one node: once this ask is answered, the tells before it were too.
      expect(await client.ask("account", id, { balance: {} })).toEqual({ balance: 3, version: 3, node: "n1" });
      await nc.flush();
      expect(answers).toEqual([{ ok: true, reply: null }]);
    } finally {
      sub.unsubscribe();
    }
  });

  it("answers a batch on the node's own …asks subject: every entry in order, a bad entry refused alone, a bad batch refused whole", async () => {
    const subject = nodeBatchSubject(cluster, "n1");
    const batch = async (body: unknown, msgpack = false) => {
      const opts = msgpack ? { timeout: 5000, headers: headers() } : { timeout: 5000 };
      if (msgpack) opts.headers!.set("Content-Type", "application/msgpack");
      const data = body instanceof Uint8Array ? body : msgpack ? encode(body) : te.encode(JSON.stringify(body));
      const r = await nc.request(subject, data, opts);
      return msgpack ? new MsgpackCodec().decode(r.data) : decodeJson(r.data);
    };
    const answers = await batch([
      { type: "account", id: "batch-1", msg: { deposit: { amount: 2, txn: "b1" } } },
      { type: "account", id: "batch-1", msg: { balance: {} } },
      { type: "account", id: "batch-1", msg: { withdraw: { amount: 50, txn: "b2" } }, verb: "send" },
      { type: "account", id: "batch-1", msg: { balance: {} }, verb: "tell" },
      { type: "account", id: "", msg: { balance: {} }, verb: "tell" }, // refused: no such id
      42,
      { type: "account", id: "batch-1", msg: { deposit: { amount: 3, txn: "b3" } }, verb: "send" },
    ]);
    const codes = (answers as Array<{ ok: boolean; reply?: unknown; error?: { code: string } }>).map((a) => (a.ok ? a.reply : a.error!.code));
    expect(codes).toEqual([
      { balance: 2, version: 1, node: "n1", applied: true },
      { balance: 2, version: 1, node: "n1" },
      "REJECTED",
      null, // a tell: taken
      "BAD_REQUEST", // the tell with no id
      "BAD_REQUEST",
      null,
    ]);
    expect(await batch([{ type: "account", id: "batch-1", msg: { balance: {} } }], true)).toEqual([
      { ok: true, reply: { balance: 5, version: 2, node: "n1" } },
    ]);

    // Refused whole, with one error, and nothing of them applied.
    const many = Array.from({ length: 1025 }, (_, i) => ({ type: "account", id: "batch-2", msg: { deposit: { amount: 1, txn: `m${i}` } } }));
    for (const bad of [{}, [], many, te.encode("[{nope")]) {
      expect(await batch(bad)).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    }
    expect(await client.ask("account", "batch-2", { balance: {} })).toMatchObject({ balance: 0, version: 0 });
  });

  it("rebuilds the same state in a restarted host", async () => {
    for (let i = 0; i < 150; i++) await client.ask("account", "durable", { deposit: { amount: 2, txn: `d${i}` } });
    await host.stop();
    host = await ActorHost.start({ nc, cluster, nodeId: "n2", actors: [account] });
    host.serve();
    expect(await client.ask("account", "durable", { balance: {} })).toEqual({ balance: 300, version: 150, node: "n2" });
    expect(await client.ask("account", "durable", { deposit: { amount: 2, txn: "d7" } })).toMatchObject({ applied: false, balance: 300 });
  });

  it("survives a caller that throws synchronously: the client gets INTERNAL, the connection lives", async () => {
    const c2 = `${cluster}throws`;
    const bad = await ActorHost.start({ nc, cluster: c2, nodeId: "bad", actors: [account] });
    const bug = () => {
      throw new TypeError("bug in the caller");
    };
    bad.serve({ ask: bug, send: bug, tell: bug });
    try {
      const client2 = new ShoalClient(nc, c2);
      for (let i = 0; i < 2; i++) {
        const err = await client2.ask("account", "x", { balance: {} }).catch((e: unknown) => e);
        expect(ShoalError.is(err, ErrorCode.INTERNAL)).toBe(true);
      }
      const sent = await client2.send("account", "x", { balance: {} }).catch((e: unknown) => e);
      expect(ShoalError.is(sent, ErrorCode.INTERNAL)).toBe(true);
      client2.tell("account", "x", { balance: {} }); // answered by nobody; the next ask shows the node lives
      expect(ShoalError.is(await client2.ask("account", "x", { balance: {} }).catch((e: unknown) => e), ErrorCode.INTERNAL)).toBe(true);
      expect(nc.isClosed()).toBe(false);
    } finally {
      await bad.stop();
    }
  });

  it("answers a reply it cannot encode with its error, alone and inside a batch, and counts what it sent", async () => {
    const c3 = `${cluster}unencodable`;
    const outcomes: string[] = [];
    const odd = await ActorHost.start({ nc, cluster: c3, nodeId: "odd", actors: [account], onAnswered: (_t, _v, outcome) => void outcomes.push(outcome) });
    // A reply JSON cannot hold for id "big", a plain one for the rest.
    const answer = async (_type: string, id: string) => (id === "big" ? { n: 1n } : { n: 1 });
    odd.serve({ ask: answer, send: async () => undefined, tell: async () => undefined });
    try {
      const single = decodeJson(
        (await nc.request(`shoal.${c3}.ask`, te.encode(JSON.stringify({ type: "account", id: "big", msg: {} })), { timeout: 5000 })).data,
      );
      expect(single).toMatchObject({ ok: false, error: { code: "INTERNAL" } });
      const entries = ["a", "big", "b"].map((id) => ({ type: "account", id, msg: {} }));
      const batch = decodeJson((await nc.request(nodeBatchSubject(c3, "odd"), te.encode(JSON.stringify(entries)), { timeout: 5000 })).data);
      expect((batch as Array<{ ok: boolean; error?: { code: string } }>).map((b) => (b.ok ? "ok" : b.error!.code))).toEqual(["ok", "INTERNAL", "ok"]);
      expect(outcomes).toEqual(["INTERNAL", "ok", "INTERNAL", "ok"]);
    } finally {
      await odd.stop();
    }
  });

  it("client: many asks in flight share one reply subscription; no node is UNAVAILABLE, and so is a closed client", async () => {
    const own = await connect({ servers: inject("natsUrl") });
    try {
      // Shared subject only: following a map would add the KV watch's own messages to the count.
      const c = new ShoalClient(own, cluster, { routing: "any" });
      const ids = Array.from({ length: 50 }, (_, i) => `many-${i}`);
      const replies = await Promise.all(ids.map((id) => c.ask("account", id, { deposit: { amount: 3, txn: "m" } })));
      expect(replies).toEqual(ids.map(() => ({ balance: 3, version: 1, node: expect.any(String), applied: true })));
      expect(own.stats().inMsgs).toBe(50); // one reply each, nothing else delivered
      const nobody = new ShoalClient(own, `${cluster}nobody`);
      const unserved = await nobody.ask("account", "x", { balance: {} }).catch((e: unknown) => e);
      expect(ShoalError.is(unserved, ErrorCode.UNAVAILABLE), String(unserved)).toBe(true);
      nobody.close();
      c.close();
      const closed = await c.ask("account", "many-0", { balance: {} }).catch((e: unknown) => e);
      expect(ShoalError.is(closed, ErrorCode.UNAVAILABLE), String(closed)).toBe(true);
      expect(own.isClosed()).toBe(false);
    } finally {
      await own.close();
    }
  });
});
