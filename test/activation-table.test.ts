import { describe, expect, it } from "vitest";
import type { Activation } from "../src/runtime/activation.js";
import { ActivationTable } from "../src/runtime/activation-table.js";

/** The table reads only an activation's key. */
const act = (type: string, id: string) => ({ key: { type, id } }) as unknown as Activation;

describe("ActivationTable", () => {
  it("finds an activation by type and id, never across types or by a joined key", () => {
    const t = new ActivationTable();
    const [a, b, c] = [act("account", "1"), act("account", "2"), act("sequencer", "1")];
    for (const x of [a, b, c]) t.add(x);
    expect(t.size).toBe(3);
    expect(t.get("account", "1")).toBe(a);
    expect(t.get("sequencer", "1")).toBe(c);
    expect(t.get("account", "3")).toBeUndefined();
    // Type and id that would join into the same key string under a separator scheme stay apart.
    const [x, y] = [act("a", "b\u0000c"), act("a\u0000b", "c")];
    t.add(x);
    t.add(y);
    expect([t.get("a", "b\u0000c"), t.get("a\u0000b", "c")]).toEqual([x, y]);
    expect(() => t.add(act("account", "1"))).toThrow(/already/);
  });

  it("removes only the activation that is under the key, and may be emptied while iterated", () => {
    const t = new ActivationTable();
    const old = act("account", "1");
    t.add(old);
    expect(t.delete(act("account", "1"))).toBe(false); // another activation of the same actor
    expect(t.get("account", "1")).toBe(old);
    for (let i = 2; i <= 5; i++) t.add(act("account", String(i)));
    t.add(act("sequencer", "s"));
    const seen: string[] = [];
    for (const a of t.values()) {
      seen.push(`${a.key.type}/${a.key.id}`);
      expect(t.delete(a)).toBe(true);
    }
    expect(seen.sort()).toEqual(["account/1", "account/2", "account/3", "account/4", "account/5", "sequencer/s"]);
    expect(t.size).toBe(0);
    t.add(act("account", "1"));
    t.clear();
    expect([t.size, t.get("account", "1")]).toEqual([0, undefined]);
  });
});
