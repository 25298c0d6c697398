import type { ServerResponse } from "node:http";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Clock, systemClock } from "../../src/clock.js";
import { ClusterEvents } from "../events.js";

/** A comment line this often keeps proxies and browsers from timing the stream out. */
const HEARTBEAT_MS = 15_000;
/** A client this far behind (bytes not yet taken by its socket) is cut off, not buffered for. */
const MAX_BACKLOG = 1024 * 1024;

/**
 * Streams every event of `cluster` to `res` as server-sent events (`data: <json>\n\n`), with a
 * comment heartbeat every 15 s. Returns the function that ends the stream; it also ends (and
 * unsubscribes) by itself when the client goes away or falls too far behind.
 */
export function streamEvents(res: ServerResponse, nc: NatsConnection, cluster: string, clock: Clock = systemClock): () => void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  let open = true;
  const write = (text: string) => {
    if (!open) return;
    if (res.writableLength > MAX_BACKLOG) return close();
    res.write(text);
  };
  const sub = ClusterEvents.subscribe(nc, cluster, (e) => write(`data: ${JSON.stringify(e)}\n\n`));
  let timer = clock.setTimeout(function beat() {
    write(": heartbeat\n\n");
    timer = clock.setTimeout(beat, HEARTBEAT_MS);
  }, HEARTBEAT_MS);
  const close = () => {
    if (!open) return;
    open = false;
    timer.cancel();
    try {
      sub.unsubscribe();
    } catch {
      // the connection is already closed: nothing to unsubscribe from
    }
    res.end();
  };
  res.on("close", close);
  write(": connected\n\n"); // sends the headers now, so a client sees the stream open
  return close;
}
