/** Messages between actors on the node-to-node wire: `from` on asks (both forms) and `mail` in handoffs, checked like any peer input. */
import { describe, expect, it } from "vitest";
import { type ForwardedAsk, flattenAsk, handedActor, parseFlatAsk, parseRpc } from "../cluster/wire.js";
import { decodeJson } from "../src/codec/json.js";
import { msgpack } from "../src/codec/msgpack.js";
import { ErrorCode } from "../src/errors.js";
import type { MailState } from "../src/runtime/outgoing.js";

const base: ForwardedAsk = { k: "ask", type: "account", id: "b", msg: { credit: {} }, timeoutMs: 500, mapVersion: 3, hops: 0 };
const origin = { type: "account", id: "a.b c", v: 7, i: 1 };
const chain = [
  { type: "ping", id: "x" },
  { type: "ping", id: "y" },
];
const bad = expect.objectContaining({ code: ErrorCode.BAD_REQUEST });
const viaMsgpack = (v: unknown) => msgpack.decode(msgpack.encode(v));

describe("from on a forwarded ask", () => {
  for (const from of [{ origin }, { chain }, { origin, chain }]) {
    it(`round-trips ${Object.keys(from).join(" and ")} in the object and the flat form, with and without order`, () => {
      for (const order of [undefined, { sender: "s1", seq: 4, settled: 2 }]) {
        const ask: ForwardedAsk = order === undefined ? { ...base, from } : { ...base, from, order };
        expect(parseFlatAsk(viaMsgpack(flattenAsk(ask, 9)) as unknown[], 1)).toEqual(ask);
      }
      const wire = viaMsgpack({ ...base, from: flattenAsk({ ...base, from }, 0).at(-1) });
      expect(parseRpc(wire)).toEqual({ ...base, from });
    });
  }

  it("refuses a malformed from with BAD_REQUEST", () => {
    const flat = flattenAsk(base, 0);
    for (const f of [
      {},
      { o: ["account", "a", 1] },
      { o: ["Bad Type", "a", 1, 0] },
      { o: ["account", "", 1, 0] },
      { o: ["account", "a", -1, 0] },
      { c: [] },
      { c: [["ping"]] },
      { c: Array.from({ length: 17 }, (_, i) => ["ping", `p${i}`]) },
      { o: ["account", "a", 1, 0], x: 1 },
      "from",
    ]) {
      expect(() => parseRpc({ ...base, from: f }), JSON.stringify(f).slice(0, 60)).toThrow(bad);
      expect(() => parseFlatAsk([...flat, f], 1), JSON.stringify(f).slice(0, 60)).toThrow(bad);
    }
    expect(() => parseRpc(decodeJson(new TextEncoder().encode(JSON.stringify({ ...base, from: { c: [["ping", "x"]] } }))))).not.toThrow();
  });
});

describe("mail in a handoff", () => {
  const mail: MailState = {
    outbox: [{ type: "account", id: "b", msg: { credit: { from: "a", amount: 1, txn: "t" } }, tell: false, v: 4, i: 0 }],
    seen: [origin],
    acked: 3,
  };
  const handoff = (actors: unknown[]) => ({ k: "handoff", shard: 1, mapVersion: 2, epoch: 1, from: "n1", actors });
  const actor = { type: "account", id: "a", version: 4, state: { balance: 1, txns: [] } };

  it("travels compact and is parsed back into the same state", () => {
    const sent = handedActor({ ...actor, mail });
    expect(sent).toMatchObject({ mail: { a: 3, p: [["account", "b", mail.outbox[0]!.msg, 0, 4, 0]], s: [["account", "a.b c", 7, 1]] } });
    const parsed = parseRpc(viaMsgpack(handoff([sent])));
    expect(parsed).toEqual(handoff([{ ...actor, mail }]));
  });

  it("refuses malformed mail with BAD_REQUEST", () => {
    for (const m of [
      {},
      { a: -1 },
      { a: 1, p: [["account", "b", {}, 2, 4, 0]] },
      { a: 1, p: [["account", "b", {}, 0, 4]] },
      { a: 1, s: [["account", "b", 1]] },
      { a: 1, z: [] },
      [],
    ]) {
      expect(() => parseRpc(handoff([{ ...actor, mail: m }])), JSON.stringify(m)).toThrow(bad);
    }
  });
});
