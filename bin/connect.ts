import { connect, type NatsConnection } from "@nats-io/transport-node";

/** Connects with a clear error naming the URL when the server cannot be reached. */
export async function connectTo(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url.split(","), name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  } catch (err) {
    throw new Error(`cannot reach NATS at ${url}: ${(err as Error).message}`);
  }
}
