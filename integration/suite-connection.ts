import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, inject } from "vitest";

/**
 * A connection to the shared test server (and its JetStream manager) for the enclosing
 * `describe`: opened before its tests, handed to `set`, closed after them.
 */
export function suiteConnection(set: (c: { nc: NatsConnection; jsm: JetStreamManager }) => void): void {
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    nc = await connect({ servers: inject("natsUrl") });
    set({ nc, jsm: await jetstreamManager(nc) });
  });
  afterAll(async () => {
    await nc?.close();
  });
}
