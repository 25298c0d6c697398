import { retryStartup } from "../cluster/startup.js";
import { systemClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import { JetStreamEventStore, type JetStreamEventStoreOptions } from "../src/store/jetstream.js";

/**
 * Opens an event store as a joining node does: on a busy 3-server cluster, creating a fresh
 * R3 stream or bucket can time out its first requests while their leaders are elected (CI
 * saw a 5 s stream-add timeout). Creation is idempotent, so the open is retried; a
 * configuration error still fails at once.
 */
export function openStore(opts: JetStreamEventStoreOptions): Promise<JetStreamEventStore> {
  return retryStartup("open the event store", () => JetStreamEventStore.open(opts), { clock: systemClock, log: silentLogger });
}
