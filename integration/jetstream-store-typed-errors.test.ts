import { connect } from "@nats-io/transport-node";
import { describe, expect, inject, it } from "vitest";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { JetStreamEventStore } from "../src/store/jetstream.js";

describe("JetStreamEventStore errors", () => {
  it("turns raw client failures into UNAVAILABLE on every operation (never a foreign error)", async () => {
    const nc = await connect({ servers: inject("natsUrl") });
    const store = await JetStreamEventStore.open({ nc, cluster: `typed${process.pid}` });
    const key = { type: "account", id: "a" };
    await store.append(key, [{ x: 1 }], 0);
    await nc.close(); // every request from here on fails inside the client
    const ops: Array<[string, () => Promise<unknown>]> = [
      ["append", () => store.append(key, [{ x: 2 }], 1)],
      ["read", () => store.read(key)],
      ["version", () => store.version(key)],
      ["load", () => store.load(key)],
      ["loadSnapshot", () => store.loadSnapshot(key)],
      ["saveSnapshot", () => store.saveSnapshot(key, { version: 1, state: {} })],
    ];
    for (const [name, op] of ops) {
      const err = await op().then(
        () => new Error(`${name} succeeded on a closed connection`),
        (e: unknown) => e,
      );
      expect(ShoalError.is(err), `${name}: ${String(err)}`).toBe(true);
      expect([ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT], name).toContain((err as ShoalError).code);
    }
  });
});
