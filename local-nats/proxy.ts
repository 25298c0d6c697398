/**
 * A TCP proxy between one client (a node process) and a nats-server, for cutting that client
 * off NATS without touching the server or anyone else's connections: with a reset (`cut`), or
 * silently (`freeze`: TCP stays up and nothing arrives, as in a partition). The fault tests
 * (integration/) and the bench's silent-link figures use it.
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
  /**
   * Stops forwarding in both directions without closing or resetting anything: both sockets of
   * every connection stop being read, so bytes stay in the kernel's buffers and TCP
   * backpressure builds, as in a partition. Connections accepted while frozen are held (no
   * upstream connection is made). A side that closes while frozen is not passed on until `thaw`.
   */
  freeze(): void;
  /**
   * Forwards again: what was buffered flows (as TCP retransmission would deliver it after a
   * healed partition), held connections are connected upstream, and closes that happened
   * while frozen are passed on.
   */
  thaw(): void;
  /** Whether the proxy is frozen now. */
  readonly isFrozen: boolean;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

/** One client connection and, once forwarded, its upstream connection. */
interface Link {
  client: Socket;
  upstream?: Socket;
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `127.0.0.1:targetPort`. */
export async function startProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const live = new Set<Socket>();
  const links = new Set<Link>();
  /** Sockets whose peer closed while frozen: destroyed on thaw. */
  const doomed = new Set<Socket>();
  let cut = false;
  let frozen = false;
  const track = (s: Socket): void => {
    live.add(s);
    s.once("close", () => live.delete(s));
    s.on("error", () => s.destroy());
  };
  // One side gone: the other goes too, as a broken link would look to both (after a thaw, if frozen).
  const closeWith = (gone: Socket, other: Socket, link: Link): void => {
    gone.once("close", () => {
      links.delete(link);
      if (frozen) doomed.add(other);
      else other.destroy();
    });
  };
  const forward = (link: Link): void => {
    const upstream = tcpConnect(targetPort, targetHost);
    track(upstream);
    link.upstream = upstream;
    closeWith(link.client, upstream, link);
    closeWith(upstream, link.client, link);
    link.client.pipe(upstream);
    upstream.pipe(link.client);
  };
  const server = createServer((client) => {
    track(client);
    if (cut) {
      client.destroy();
      return;
    }
    const link: Link = { client };
    links.add(link);
    if (frozen) {
      // Held: not read, not connected upstream, until the thaw.
      client.pause();
      client.once("close", () => links.delete(link));
      return;
    }
    forward(link);
  });
  await new Promise<void>((ok, fail) => server.once("error", fail).listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  const destroyAll = (): void => {
    for (const s of live) s.destroy();
    live.clear();
    links.clear();
    doomed.clear();
  };
  return {
    port,
    get isCut() {
      return cut;
    },
    get isFrozen() {
      return frozen;
    },
    cut() {
      cut = true;
      destroyAll();
    },
    heal() {
      cut = false;
    },
    freeze() {
      if (frozen) return;
      frozen = true;
      for (const { client, upstream } of links) {
        if (upstream === undefined) continue;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    thaw() {
      if (!frozen) return;
      frozen = false;
      for (const link of [...links]) {
        if (link.client.destroyed) continue;
        if (link.upstream === undefined) forward(link);
        else {
          link.client.pipe(link.upstream);
          link.upstream.pipe(link.client);
        }
      }
      for (const s of doomed) s.destroy();
      doomed.clear();
    },
    async stop() {
      cut = true;
      destroyAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
