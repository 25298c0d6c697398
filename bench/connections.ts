import { connect, type NatsConnection } from "@nats-io/transport-node";

/** The connections a bench part opens to `url`, closed together at its end (failures to close ignored). */
export function benchConnections(url: string): { open(): Promise<NatsConnection>; closeAll(): Promise<void> } {
  const opened: NatsConnection[] = [];
  return {
    async open() {
      const nc = await connect({ servers: url, noAsyncTraces: true });
      opened.push(nc);
      return nc;
    },
    async closeAll() {
      await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
    },
  };
}
