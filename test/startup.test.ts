import { describe, expect, it } from "vitest";
import { ShardCountMismatchError } from "../cluster/map-store.js";
import { retryStartup } from "../cluster/startup.js";
import { ManualClock } from "../src/clock.js";
import { UnavailableError } from "../src/errors.js";
import { silentLogger } from "../src/log.js";
import { turns } from "./support/turns.js";

describe("retryStartup", () => {
  it("retries while NATS is not ready, with growing pauses, until it works", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const p = retryStartup(
      "bucket",
      async () => {
        if (++calls < 4) throw new UnavailableError("timeout");
        return "ok";
      },
      { clock, log: silentLogger },
    );
    for (const step of [100, 200, 400]) {
      await turns(5);
      clock.advance(step);
    }
    expect(await p).toBe("ok");
    expect(calls).toBe(4);
  });

  it("fails at once on a configuration error and at the deadline on a lasting outage", async () => {
    const clock = new ManualClock();
    await expect(retryStartup("count", async () => Promise.reject(new ShardCountMismatchError(128, 64)), { clock, log: silentLogger })).rejects.toThrow(
      /128 shards/,
    );
    let calls = 0;
    const p = retryStartup(
      "down",
      async () => {
        calls++;
        throw new UnavailableError("no responders");
      },
      { clock, log: silentLogger, deadlineMs: 1000 },
    ).catch((e: unknown) => e);
    for (let i = 0; i < 10; i++) {
      await turns(5);
      clock.advance(500);
    }
    expect(await p).toBeInstanceOf(UnavailableError);
    expect(calls).toBeGreaterThan(2);
    expect(calls).toBeLessThan(10);
  });
});
