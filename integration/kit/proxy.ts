/**
 * A TCP proxy between one client (a node process) and a nats-server, for cutting that client
 * off NATS without touching the server or anyone else's connections.
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";

/** A running proxy on 127.0.0.1. */
export interface TcpProxy {
  /** The port clients connect to (`nats://127.0.0.1:<port>`). */
  readonly port: number;
  /** Destroys every live connection and refuses new ones (accepted, then closed at once). */
  cut(): void;
  /** Accepts and forwards connections again. */
  heal(): void;
  /** Whether the proxy is cut now. */
  readonly isCut: boolean;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `127.0.0.1:targetPort`. */
export async function startProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let cut = false;
  const track = (s: Socket): void => {
    live.add(s);
    s.once("close", () => live.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(targetPort, targetHost);
    track(upstream);
    // One side gone: the other goes too, as a broken link would look to both.
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((ok, fail) => server.once("error", fail).listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  const destroyAll = (): void => {
    for (const s of live) s.destroy();
    live.clear();
  };
  return {
    port,
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
      destroyAll();
    },
    heal() {
      cut = false;
    },
    async stop() {
      cut = true;
      destroyAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
