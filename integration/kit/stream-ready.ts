import type { JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
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

/**
 * Creates a replicated stream, asking again while the request times out. On a loaded machine
 * the meta leader can take longer than the client's request timeout to form the stream's Raft
 * group; a repeated add with the same config is answered with the stream, so asking again is safe.
 */
export async function addStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, timeout = 30_000): Promise<StreamInfo> {
  let info: StreamInfo | undefined;
  await waitFor(
    async () => {
      info = await jsm.streams.add(config);
      return true;
    },
    { timeout, interval: 100, message: `stream ${config.name} was never created` },
  );
  return info!;
}
