import type { ServerResponse } from "node:http";
import { type Clock, systemClock, type TimerHandle } from "../../src/clock.js";
import type { EventHistory } from "./event-history.js";

/** A comment line this often keeps proxies and browsers from timing the stream out. */
const HEARTBEAT_MS = 15_000;
/** A client this far behind (bytes not yet taken by its socket) is cut off, not buffered for. */
const MAX_BACKLOG = 1024 * 1024;

/**
 * Streams the cluster's events to `res` as server-sent events, each `data: <json>` with its
 * `id:`. First what `history` holds — all of it, or what followed `lastEventId` (the
 * `Last-Event-ID` a reconnecting browser sends) — as events named `history`, then each new
 * event as it comes (unnamed: `message`), with a comment heartbeat every 15 s. Returns the
 * function that ends the stream; it also ends by itself when the client goes away or falls
 * too far behind.
 */
export function streamEvents(res: ServerResponse, history: EventHistory, lastEventId?: string, clock: Clock = systemClock): () => void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  let open = true;
  let unlisten: () => void = () => undefined;
  let timer: TimerHandle | undefined;
  const close = () => {
    if (!open) return;
    open = false;
    timer?.cancel();
    unlisten();
    res.end();
  };
  const write = (text: string) => {
    if (!open || text === "") return;
    if (res.writableLength > MAX_BACKLOG) return close();
    res.write(text);
  };
  res.on("close", close);
  write(": connected\n\n"); // sends the headers now, so a client sees the stream open
  write(
    history
      .since(lastEventId)
      .map((e) => `event: history\nid: ${e.id}\ndata: ${e.json}\n\n`)
      .join(""),
  );
  if (!open) return close; // the replay alone was too much for this client
  unlisten = history.listen((e) => write(`id: ${e.id}\ndata: ${e.json}\n\n`));
  timer = clock.setTimeout(function beat() {
    write(": heartbeat\n\n");
    timer = clock.setTimeout(beat, HEARTBEAT_MS);
  }, HEARTBEAT_MS);
  return close;
}
