import { randomBytes } from "node:crypto";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ClusterEvents } from "../events.js";

/** One event as the history keeps it: its id (`<boot>-<seq>`) and its JSON. */
export interface KeptEvent {
  /** `<boot>-<seq>`: what a browser sends back as `Last-Event-ID`. */
  id: string;
  /** The event as JSON, ready to stream. */
  json: string;
}

/** Bounds of an {@link EventHistory}. */
export interface EventHistoryOptions {
  /** Most events kept. Default 500. */
  maxEvents?: number;
  /** Most bytes of JSON kept (the oldest go first). Default 512 KiB: a page's replay stays under the event stream's 1 MiB backlog. */
  maxBytes?: number;
  /** An event larger than this is not kept (nor streamed: anyone may publish on the events subject). Default 64 KiB. */
  maxEventBytes?: number;
}

/**
 * The cluster's recent events as this node heard them, so a page opened late (or reconnecting)
 * still sees what happened: a bounded ring, by count and by bytes, of the events published on
 * `shoal.<cluster>.events` since the node's HTTP interface attached. One subscription serves
 * every `/events` stream: each stream gets the ring (or what followed the id it last saw), then
 * each new event through {@link listen}.
 *
 * Ids are `<boot>-<seq>`: `boot` is random per history, so an id from another process (a
 * node that restarted) asks for everything, and `seq` counts up.
 */
export class EventHistory {
  /** Random per history: which process's sequence an id belongs to. */
  readonly boot = randomBytes(4).toString("hex");
  private readonly kept: Array<KeptEvent & { size: number }> = [];
  private readonly listeners = new Set<(e: KeptEvent) => void>();
  private seq = 0;
  private bytes = 0;
  private sub: Subscription | undefined;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly maxEventBytes: number;

  constructor(opts: EventHistoryOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 500;
    this.maxBytes = opts.maxBytes ?? 512 * 1024;
    this.maxEventBytes = opts.maxEventBytes ?? 64 * 1024;
  }

  /** A history fed by the cluster's events on `nc` until {@link stop}. */
  static subscribe(nc: NatsConnection, cluster: string, opts?: EventHistoryOptions): EventHistory {
    const h = new EventHistory(opts);
    h.sub = ClusterEvents.subscribe(nc, cluster, (e) => h.add(e));
    return h;
  }

  /** Keeps `event` (an object with a string `type`; anything else, or one too large, is skipped) and tells the listeners. */
  add(event: unknown): void {
    if (typeof event !== "object" || event === null || Array.isArray(event) || typeof (event as { type?: unknown }).type !== "string") return;
    const json = JSON.stringify(event);
    const size = Buffer.byteLength(json);
    if (size > this.maxEventBytes) return;
    const kept = { id: `${this.boot}-${++this.seq}`, json, size };
    this.kept.push(kept);
    this.bytes += size;
    while (this.kept.length > this.maxEvents || this.bytes > this.maxBytes) this.bytes -= this.kept.shift()!.size;
    for (const listener of this.listeners) listener(kept);
  }

  /**
   * The events after the one `lastId` names (an SSE `Last-Event-ID`), oldest first; all of them
   * when it is absent, malformed or from another process.
   */
  since(lastId?: string): KeptEvent[] {
    const m = lastId === undefined ? null : /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastId);
    if (m === null || m[1] !== this.boot) return this.kept.map(({ id, json }) => ({ id, json }));
    const seen = Number(m[2]);
    return this.kept.filter((k) => Number(k.id.slice(9)) > seen).map(({ id, json }) => ({ id, json }));
  }

  /** Calls `fn` with each event kept from now on; returns the function that stops it. */
  listen(fn: (e: KeptEvent) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /** Events kept now. */
  get size(): number {
    return this.kept.length;
  }

  /** Stops listening to the cluster (the kept events stay readable). */
  stop(): void {
    try {
      this.sub?.unsubscribe();
    } catch {
      // the connection is already closed: nothing to unsubscribe from
    }
    this.sub = undefined;
    this.listeners.clear();
  }
}
