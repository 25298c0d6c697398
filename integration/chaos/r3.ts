/** A 3-server JetStream cluster with R3 nodes connected to all three servers. */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { streamName } from "../../src/nats-names.js";
import { type RunningCluster, startNatsCluster } from "../kit/index.js";
import { ChaosCluster } from "./harness.js";

/** Slower failure detection than the single-server scenarios: a server kill stalls KV writes while JetStream elects. */
export const R3_NODE_ARGS = ["--replicas", "3", "--member-ttl", "5000", "--heartbeat", "1000", "--leader-ttl", "5000"];

export async function startR3(prefix: string, nodes = ["n1", "n2", "n3"]): Promise<{ nats: RunningCluster; c: ChaosCluster; close(): Promise<void> }> {
  const nats = await startNatsCluster(3);
  let c: ChaosCluster | undefined;
  const close = async (): Promise<void> => {
    await c?.close();
    await nats.stop();
  };
  try {
    c = await ChaosCluster.create(nats.urls, prefix, R3_NODE_ARGS);
    for (const id of nodes) c.start(id);
    await c.waitStable(nodes);
    return { nats, c, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The journal stream as JetStream reports it: creation time, message count, replicas and their health. */
export async function streamState(
  nc: NatsConnection,
  cluster: string,
): Promise<{ created: string; messages: number; firstSeq: number; replicas: number; current: number; leader?: string }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streamName(cluster));
  return {
    created: info.created,
    messages: info.state.messages,
    firstSeq: info.state.first_seq,
    replicas: info.config.num_replicas,
    current: 1 + (info.cluster?.replicas ?? []).filter((r) => r.current).length,
    leader: info.cluster?.leader,
  };
}
