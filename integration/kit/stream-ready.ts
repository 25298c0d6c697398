import type { JetStreamManager } from "@nats-io/jetstream";
import { waitFor } from "./wait.js";

/**
 * Waits until a freshly created stream of `replicas` has a leader and every follower is current.
 * Until then a write can meet "no responders" or a 503: the stream settling, not what a test of
 * replicated writes means to test.
 */
export async function waitStreamReady(jsm: JetStreamManager, stream: string, replicas: number, timeout = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const c = (await jsm.streams.info(stream)).cluster;
      const followers = c?.replicas ?? [];
      return c?.leader !== undefined && followers.length === replicas - 1 && followers.every((r) => r.current);
    },
    { timeout, message: `stream ${stream} never had a leader with ${replicas - 1} current followers` },
  );
}
