import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, inject, it } from "vitest";
import { account } from "../src/actors/account.js";
import { startTestCluster } from "../testing/index.js";

/** Every line the nodes log at info and above, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, sink) };
}

describe("what a node logs at info", () => {
  it("one line per map applied, with its moves; migrations only at debug", async () => {
    const { lines, logger } = capture();
    await using cluster = await startTestCluster({ actors: [account], nodes: 2, shards: 256, natsUrl: inject("natsUrl"), logger });
    for (let i = 0; i < 50; i++) await cluster.ref(account, `a-${i}`).ask({ deposit: { amount: 1, txn: "t" } });
    await cluster.addNode("node-3"); // a join under some state: dozens of shards move
    const applied = lines.filter((l) => l.msg === "shard map applied");
    expect(applied.length).toBeGreaterThanOrEqual(3);
    for (const l of applied)
      expect(l).toMatchObject({
        version: expect.any(Number),
        moves: expect.any(Number),
        gained: expect.any(Number),
        lost: expect.any(Number),
        owned: expect.any(Number),
      });
    expect(applied.reduce((n, l) => n + (l.moves as number), 0)).toBeGreaterThan(50);
    // Not a line per migration (hundreds moved) nor per published event.
    expect(lines.filter((l) => l.msg === "migration" || l.msg === "map.published")).toEqual([]);
    expect(lines.length).toBeLessThan(80);
  });
});
