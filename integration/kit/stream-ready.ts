import { JetStreamApiError, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { waitFor } from "../../local-nats/index.js";

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
 * Creates a replicated stream, asking again while the request times out (or JetStream answers
 * 503). On a loaded machine the meta leader can take longer than the client's request timeout
 * to form the stream's Raft group; a repeated add with the same config is answered with the
 * stream, so asking again is safe. Any other error (a config the server refuses) fails at once.
 */
export async function addStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, timeout = 30_000): Promise<StreamInfo> {
  let info: StreamInfo | undefined;
  let refused: unknown;
  await waitFor(
    async () => {
      try {
        info = await jsm.streams.add(config);
      } catch (err) {
        if (err instanceof errors.TimeoutError || (err instanceof JetStreamApiError && err.status === 503)) throw err;
        refused = err;
      }
      return true;
    },
    { timeout, interval: 100, message: `stream ${config.name} was never created` },
  );
  if (info === undefined) throw refused;
  return info;
}
