import { describe, expect, it } from "vitest";
import { deserializeSequencerState, MAX_SENDERS, MAX_VIOLATIONS, sequencer, type SequencerReport, type SequencerStepReply } from "../src/actors/sequencer.js";
import { decodeJson, encodeJson } from "../src/codec/json.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { ErrorCode } from "../src/errors.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { codeOf } from "./support/outcomes.js";

const runtime = (nodeId = "n1") => new Runtime({ nodeId, store: new MemoryEventStore(), actors: [sequencer] });

const step = (rt: Runtime, id: string, sender: string, seq: number) => rt.ask("sequencer", id, { sender, seq }) as Promise<SequencerStepReply>;
const report = (rt: Runtime, id: string) => rt.ask("sequencer", id, { report: {} }) as Promise<SequencerReport>;

const code = codeOf;

describe("sequencer actor", () => {
  it("applies each sender's numbers in order, senders apart", async () => {
    const rt = runtime();
    for (let seq = 1; seq <= 20; seq++) {
      expect(await step(rt, "q", "a", seq)).toEqual({ applied: true, last: seq, node: "n1" });
      if (seq <= 10) expect(await step(rt, "q", "b", seq)).toEqual({ applied: true, last: seq, node: "n1" });
    }
    expect(await report(rt, "q")).toEqual({
      senders: [
        { sender: "a", last: 20 },
        { sender: "b", last: 10 },
      ],
      violations: [],
      violationCount: 0,
      node: "n1",
    });
    // Another actor id is another sequence.
    expect(await step(rt, "other", "a", 1)).toMatchObject({ applied: true, last: 1 });
  });

  it("answers a retry of an applied number with applied: false and changes nothing", async () => {
    const rt = runtime();
    for (let seq = 1; seq <= 5; seq++) await step(rt, "q", "a", seq);
    expect(await step(rt, "q", "a", 5)).toEqual({ applied: false, last: 5, node: "n1" });
    expect(await step(rt, "q", "a", 2)).toEqual({ applied: false, last: 5, node: "n1" });
    expect(await step(rt, "q", "a", 6)).toEqual({ applied: true, last: 6, node: "n1" });
    const r = await report(rt, "q");
    expect(r.senders).toEqual([{ sender: "a", last: 6 }]);
    expect(r.violationCount).toBe(0);
  });

  it("records a gap as a violation, jumps ahead, and goes on from there", async () => {
    const rt = runtime();
    await step(rt, "q", "a", 1);
    expect(await step(rt, "q", "a", 4)).toEqual({ applied: true, last: 4, node: "n1", violation: true });
    expect(await step(rt, "q", "a", 5)).toEqual({ applied: true, last: 5, node: "n1" });
    expect(await step(rt, "q", "a", 3)).toEqual({ applied: false, last: 5, node: "n1" });
    // A first message that is not 1 is a gap too (what a lost state looks like after a move).
    expect(await step(rt, "q", "b", 7)).toMatchObject({ applied: true, last: 7, violation: true });
    const r = await report(rt, "q");
    expect(r.violations).toEqual([
      { sender: "a", expected: 2, got: 4 },
      { sender: "b", expected: 1, got: 7 },
    ]);
    expect(r.violationCount).toBe(2);
  });

  it("keeps the first violations up to the cap and counts the rest", async () => {
    const rt = runtime();
    for (let i = 1; i <= MAX_VIOLATIONS + 50; i++) await step(rt, "q", "a", i * 2);
    const r = await report(rt, "q");
    expect(r.violations).toHaveLength(MAX_VIOLATIONS);
    expect(r.violations[0]).toEqual({ sender: "a", expected: 1, got: 2 });
    expect(r.violationCount).toBe(MAX_VIOLATIONS + 50);
    expect(r.senders).toEqual([{ sender: "a", last: (MAX_VIOLATIONS + 50) * 2 }]);
  });

  it("moves its state by capture → MessagePack → adopt, and goes on without a gap", async () => {
    const src = runtime("n1");
    const senders = ["a", "__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "ü𝄞 .*>"];
    for (const s of senders) for (let seq = 1; seq <= 3; seq++) await step(src, "q", s, seq);
    await step(src, "q", "a", 9); // one violation travels too
    const group = await src.pause((type, id) => type === "sequencer" && id === "q");
    const waiting = step(src, "q", "a", 10); // buffered at the source during the handoff
    const [captured] = group.capture();
    const handed = group.release();
    expect(captured).toMatchObject({ type: "sequencer", id: "q", version: senders.length * 3 + 1 });

    // The handoff crosses the wire: the codec's forbidden-key check must not trip on sender names.
    const codec = new MsgpackCodec();
    const wire = codec.decode(codec.encode(captured!.state));
    const dest = runtime("n2");
    dest.adopt("sequencer", "q", captured!.version, wire);
    for (const p of handed) p.resolve(await dest.ask(p.type, p.id, p.msg));
    expect(await waiting).toEqual({ applied: true, last: 10, node: "n2" });
    expect(await step(dest, "q", "__proto__", 4)).toEqual({ applied: true, last: 4, node: "n2" });

    const r = await report(dest, "q");
    expect(r.violations).toEqual([{ sender: "a", expected: 4, got: 9 }]);
    expect(r.senders.find((x) => x.sender === "a")!.last).toBe(10);
    expect(r.senders).toHaveLength(senders.length);
    expect(Object.getPrototypeOf(r.senders)).toBe(Array.prototype);
  });

  it("serializes to plain data and back, and refuses anything it would not produce", () => {
    const state = {
      senders: new Map([
        ["__proto__", 3],
        ["b", 1],
      ]),
      violations: [{ sender: "b", expected: 1, got: 2 }],
      violationCount: 7,
    };
    const data = sequencer.serialize(state);
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    expect(decodeJson(encodeJson(data))).toEqual(data);
    const back = sequencer.deserialize(data);
    expect(back.senders).toBeInstanceOf(Map);
    expect([...back.senders]).toEqual([...state.senders]);
    expect(back.violations).toEqual(state.violations);
    expect(back.violationCount).toBe(7);

    const ok = { senders: [["a", 1]], violations: [], violationCount: 0 };
    expect(deserializeSequencerState(ok).senders.get("a")).toBe(1);
    const bad: unknown[] = [
      null,
      [],
      "x",
      {},
      { ...ok, senders: { a: 1 } },
      { ...ok, senders: [["a"]] },
      { ...ok, senders: [["a", 0]] },
      { ...ok, senders: [["a", 1.5]] },
      { ...ok, senders: [["", 1]] },
      { ...ok, senders: [["x".repeat(65), 1]] },
      {
        ...ok,
        senders: [
          ["a", 1],
          ["a", 2],
        ],
      },
      { ...ok, senders: Array.from({ length: MAX_SENDERS + 1 }, (_, i) => [`s${i}`, 1]) },
      { ...ok, violations: {} },
      { ...ok, violations: [{ sender: "a", expected: 2, got: 2 }], violationCount: 1 },
      { ...ok, violations: [{ sender: "a", expected: 1, got: 2, extra: 1 }], violationCount: 1 },
      { ...ok, violations: [{ sender: "a", expected: 1, got: 2 }], violationCount: 0 },
      { ...ok, violationCount: -1 },
      { ...ok, violationCount: "0" },
    ];
    for (const d of bad) expect(() => deserializeSequencerState(d), JSON.stringify(d)?.slice(0, 80)).toThrow(TypeError);
  });

  it("treats prototype names as plain senders, and the report survives the ingress codec", async () => {
    const rt = runtime();
    const names = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty"];
    for (const s of names) {
      expect(await step(rt, "q", s, 1)).toEqual({ applied: true, last: 1, node: "n1" });
      expect(await step(rt, "q", s, 1)).toEqual({ applied: false, last: 1, node: "n1" });
    }
    const r = await report(rt, "q");
    expect(r.senders.map((x) => x.sender)).toEqual([...names].sort());
    expect(r.violationCount).toBe(0);
    // What a client reads back from the ingress: JSON, checked for forbidden keys.
    expect(decodeJson(encodeJson({ ok: true, reply: r }))).toEqual({ ok: true, reply: r });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("rejects bad shapes with BAD_REQUEST and changes nothing", async () => {
    const rt = runtime();
    const bad: unknown[] = [
      null,
      undefined,
      "report",
      42,
      [],
      [{ sender: "a", seq: 1 }],
      {},
      { sender: "a" },
      { seq: 1 },
      { sender: "a", seq: 1, extra: true },
      { sender: "", seq: 1 },
      { sender: "x".repeat(65), seq: 1 },
      { sender: 5, seq: 1 },
      { sender: null, seq: 1 },
      { sender: "a", seq: 0 },
      { sender: "a", seq: -1 },
      { sender: "a", seq: 1.5 },
      { sender: "a", seq: 2 ** 53 },
      { sender: "a", seq: "1" },
      { sender: "a", seq: Number.NaN },
      { sender: "a", seq: Number.POSITIVE_INFINITY },
      { report: [] },
      { report: null },
      { report: { all: true } },
      { report: {}, sender: "a" },
      { report: {}, sender: "a", seq: 1 },
      { reset: {} },
      JSON.parse('{"__proto__": {"sender": "a", "seq": 1}}'),
    ];
    for (const msg of bad) expect(await code(rt.ask("sequencer", "q", msg)), JSON.stringify(msg) ?? String(msg)).toBe(ErrorCode.BAD_REQUEST);
    expect(rt.isActive("sequencer", "q")).toBe(false); // not even activated
    expect(await step(rt, "q", "a", 1)).toMatchObject({ applied: true, last: 1 });
    for (const msg of bad) expect(await code(rt.ask("sequencer", "q", msg))).toBe(ErrorCode.BAD_REQUEST);
    expect(await report(rt, "q")).toMatchObject({ senders: [{ sender: "a", last: 1 }], violationCount: 0 });
    // The largest valid values are fine.
    expect(await step(rt, "q", "y".repeat(64), Number.MAX_SAFE_INTEGER)).toMatchObject({ applied: true, violation: true });
  });

  it("refuses new senders past the cap with REJECTED, keeps serving known ones", async () => {
    const rt = runtime();
    for (let i = 0; i < MAX_SENDERS; i++) await step(rt, "q", `s${i}`, 1);
    expect(await code(step(rt, "q", "one-too-many", 1))).toBe(ErrorCode.REJECTED);
    expect(await step(rt, "q", "s0", 2)).toMatchObject({ applied: true, last: 2 });
    expect((await report(rt, "q")).senders).toHaveLength(MAX_SENDERS);
  });
});
