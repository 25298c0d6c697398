import { describe, expect, it } from "vitest";
import { checkKey } from "../src/store/checks.js";
import { journalSubject } from "../src/nats-names.js";
import { SubjectCache } from "../src/store/subject-cache.js";
import type { ActorKey } from "../src/store/types.js";
import { thrownCode } from "./support/outcomes.js";

const codeOf = thrownCode;

describe("SubjectCache", () => {
  it("gives the layout's subject, the first time and from the cache", () => {
    const names = new SubjectCache("c1");
    for (const id of ["a", "a.b", "*", ">", "x y", "ü", "a".repeat(200)]) {
      const key = { type: "account", id };
      expect(names.subjectOf(key)).toBe(journalSubject("c1", key));
      expect(names.subjectOf({ ...key })).toBe(journalSubject("c1", key));
    }
  });

  it("keeps pairs apart that would join to the same string", () => {
    const names = new SubjectCache("c1");
    const a = names.subjectOf({ type: "a", id: "b.c" });
    expect(names.subjectOf({ type: "a", id: "b" })).not.toBe(a);
    expect(codeOf(() => names.subjectOf({ type: "a.b", id: "c" }))).toBe("BAD_REQUEST");
  });

  it("rejects exactly what checkKey rejects, before and after a valid key is cached", () => {
    const names = new SubjectCache("c1");
    const bad: unknown[] = [
      null,
      "account",
      { type: "account" },
      { type: "account", id: "" },
      { type: "account", id: 7 },
      { type: "1account", id: "a" },
      { type: "account", id: "\uD800" },
      { type: "account", id: "x".repeat(100_000) },
    ];
    for (let round = 0; round < 2; round++) {
      for (const key of bad) {
        expect(codeOf(() => checkKey(key as ActorKey))).toBe("BAD_REQUEST");
        expect(codeOf(() => names.subjectOf(key as ActorKey))).toBe("BAD_REQUEST");
      }
      names.subjectOf({ type: "account", id: "a" });
    }
    expect(names.size).toBe(1);
  });

  it("stays within its capacity and still answers for dropped keys", () => {
    const names = new SubjectCache("c1", 3);
    for (let i = 0; i < 10; i++) {
      names.subjectOf({ type: i % 2 === 0 ? "t" : "u", id: `a${i}` });
      expect(names.size).toBeLessThanOrEqual(3);
    }
    expect(names.subjectOf({ type: "t", id: "a0" })).toBe(journalSubject("c1", { type: "t", id: "a0" }));
    expect(names.size).toBeLessThanOrEqual(3);
  });
});
