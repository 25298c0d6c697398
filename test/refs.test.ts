import { describe, expect, it } from "vitest";
import { z } from "zod";
import { actorType } from "../src/actor/calls.js";
import { defineActor, defineInMemoryActor } from "../src/actor/define.js";
import { fromSchema } from "../src/actor/schema.js";
import { account } from "../src/actors/account.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { testRuntime } from "../testing/test-runtime.js";

/** A message-map actor whose two messages answer different types. */
const counter = defineActor({
  type: "counter",
  initialState: () => ({ n: 0 }),
  messages: {
    add: {
      validate: fromSchema(z.object({ by: z.number().int().positive() })),
      handle: (s, { by }) => ({ events: [{ added: by }], reply: s.n + by }),
    },
    get: {
      validate: () => ({}),
      handle: (s, _p, ctx) => ({ reply: { n: s.n, version: ctx.version } }),
    },
  },
  evolve: (s, e: { added: number }) => ({ n: s.n + e.added }),
});

const notes = defineInMemoryActor({
  type: "notes",
  initialState: (): string[] => [],
  messages: {
    add: { validate: (p: unknown) => String(p), handle: (s, text) => ({ state: [...s, text], reply: s.length + 1 }) },
    list: { validate: () => ({}), handle: (s) => ({ state: s, reply: [...s] }) },
  },
  serialize: (s) => s,
  deserialize: (d) => d as string[],
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (ShoalError.is(e) ? e.code : String(e)),
  );

describe("typed references on a runtime", () => {
  it("ask answers each message's own reply; send resolves once applied; tell returns nothing", async () => {
    await using rt = testRuntime({ actors: [counter, notes, account] });
    const c = rt.ref(counter, "c1");
    expect(await c.ask({ add: { by: 2 } })).toBe(2);
    await expect(c.send({ add: { by: 3 } })).resolves.toBeUndefined();
    c.tell({ add: { by: 5 } });
    expect(await c.ask({ get: {} })).toEqual({ n: 10, version: 3 });
    const n = rt.ref(notes, "n1");
    expect(await n.ask({ add: "x" })).toBe(1);
    expect(await n.ask({ list: {} })).toEqual(["x"]);
    expect(await rt.ref(account, "a").ask({ deposit: { amount: 5, txn: "t" } })).toEqual({ balance: 5, version: 1, node: "test", applied: true });
    expect(String(c)).toBe("counter/c1");
  });

  it("refuses what no message of the map names, two names at once, and what the schema refuses: BAD_REQUEST, nothing applied", async () => {
    await using rt = testRuntime({ actors: [counter] });
    const c = rt.ref(actorType("counter"), "c2"); // untyped: anything compiles, the node decides
    expect(await codeOf(c.ask({ sub: { by: 1 } }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await codeOf(c.ask({ add: { by: 1 }, get: {} }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await codeOf(c.ask({ add: { by: -1 } }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await codeOf(c.ask({ add: { by: 1, extra: true } }))).toBe("ok"); // zod strips unknown keys by default
    expect(await codeOf(c.ask("add"))).toBe(ErrorCode.BAD_REQUEST);
    const err = await c.ask({ add: { by: "two" } }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: ErrorCode.BAD_REQUEST,
      message: expect.stringContaining("by"),
      details: { issues: [expect.objectContaining({ path: "by" })] },
    });
    expect(await rt.ref(counter, "c2").ask({ get: {} })).toEqual({ n: 1, version: 1 });
  });

  it("checks the id and type name once, when the reference is made", () => {
    const rt = testRuntime({ actors: [counter] });
    expect(() => rt.ref(counter, "")).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    expect(() => rt.ref(counter, "x".repeat(513))).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    expect(() => actorType("no.dots")).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
    expect(rt.ref(counter, "a.b *>").id).toBe("a.b *>");
  });

  it("refuses a definition that mixes the two forms or lacks a part", () => {
    const base = { type: "x", initialState: () => 0, evolve: (s: number) => s };
    expect(() => defineActor({ ...base, messages: {} } as never)).toThrow(/at least one entry/);
    expect(() => defineActor({ ...base, messages: { a: { validate: () => 1 } } } as never)).toThrow(/validate and handle/);
    expect(() => defineActor({ ...base, messages: { a: { validate: () => 1, handle: () => ({ reply: 1 }) } }, validate: () => 1 } as never)).toThrow(
      /one or the other/,
    );
    expect(() => defineActor({ ...base } as never)).toThrow(/validate and handle functions, or messages/);
    expect(() => defineActor({ ...base, evolve: undefined, validate: () => 1, handle: () => ({ reply: 1 }) } as never)).toThrow(/evolve/);
    expect(() =>
      defineInMemoryActor({ type: "y", initialState: () => 0, validate: () => 1, handle: (s: number) => ({ state: s, reply: 1 }) } as never),
    ).toThrow(/serialize/);
    expect(() => fromSchema({} as never)).toThrow(/Standard Schema/);
  });

  it("a redefined message map (spread with new options) keeps working", async () => {
    const small = defineActor({ ...counter, snapshotEvery: 2 });
    await using rt = testRuntime({ actors: [small] });
    expect(await rt.ref(small, "s").ask({ add: { by: 4 } })).toBe(4);
    expect(small.snapshotEvery).toBe(2);
  });

  it("an asynchronous schema is refused with a clear error, not a hang", async () => {
    const later = defineActor({
      type: "later",
      initialState: () => 0,
      messages: { go: { validate: fromSchema(z.string().refine(async () => true)), handle: () => ({ reply: 1 }) } },
      evolve: (s: number) => s,
    });
    await using rt = testRuntime({ actors: [later] });
    const err = await rt
      .ref(later, "l")
      .ask({ go: "x" })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.BAD_REQUEST, message: expect.stringMatching(/asynchronous/) });
  });
});
