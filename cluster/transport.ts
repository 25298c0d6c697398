import type { NatsConnection } from "@nats-io/transport-node";
import { type Clock, systemClock } from "../src/clock.js";
import { type Logger, silentLogger } from "../src/log.js";
import { rpcSubject } from "../src/nats-names.js";
import type { ReplyTo } from "../src/reply-to.js";
import { TransportClient } from "./transport-client.js";
import { TransportLink } from "./transport-link.js";
import { TransportServer } from "./transport-server.js";
import type { RpcRequest } from "./wire.js";

/** Sends node requests. The NATS implementation is {@link NatsTransport}; tests may fake it. */
export interface Transport {
  /** Resolves to the reply, or rejects with the typed error the peer answered (or UNAVAILABLE / TIMEOUT). */
  request(node: string, req: RpcRequest, timeoutMs: number): Promise<unknown>;
  /**
   * {@link request} without a promise: the answer goes to `to` (possibly before this returns,
   * e.g. a request too big to send). Never throws. The router's path, where thousands may be
   * in flight and a promise per request would be garbage per request. A tell (`req.tell`) is
   * answered `null` once its batch's acknowledgement comes (`batch-wire.ts`).
   */
  send(node: string, req: RpcRequest, timeoutMs: number, to: ReplyTo): void;
}

/** Serves one request of a peer; its answer (or typed error) goes to `to`. Must not throw. */
export type RpcHandler = (req: RpcRequest, to: ReplyTo) => void;

/**
 * Node-to-node requests over NATS, coalesced: the requests to one peer made during one job
 * (see `Coalescer`) travel in one MessagePack message (up to 64 of them or 32 KB), and the
 * replies that are ready together travel back in one; the wire is in `batch-wire.ts`. A lone
 * ask pays no wait — its batch leaves as soon as the job that made it ends — and a window of
 * asks costs a few NATS messages each way instead of one per ask.
 *
 * One node's two sides on one connection: {@link TransportClient} sends this node's requests,
 * {@link TransportServer} serves its peers', and {@link TransportLink} gives each batch either
 * of them reads a job of its own.
 */
export class NatsTransport implements Transport {
  private readonly client: TransportClient;
  private readonly server: TransportServer;

  constructor(nc: NatsConnection, cluster: string, nodeId: string, log: Logger = silentLogger, clock: Clock = systemClock) {
    const link = new TransportLink(nc, log, clock);
    this.client = new TransportClient(link, cluster, nodeId);
    this.server = new TransportServer(link, rpcSubject(cluster, nodeId));
  }

  /** Starts serving this node's rpc subject: every request of a peer goes to `handler`. */
  serve(handler: RpcHandler): void {
    this.server.serve(handler);
  }

  /** Stops serving, then waits (at most `graceMs`) until every request taken has been answered. */
  stop(graceMs?: number): Promise<void> {
    return this.server.stop(graceMs);
  }

  /** After {@link stop}: stops reading replies and fails the calls still open (UNAVAILABLE). */
  close(): void {
    this.client.close();
  }

  /** Told when a peer reports tells of ours that failed there (it logged why). */
  onTellsFailed(fn: (node: string, failed: number) => void): void {
    this.client.onTellsFailed(fn);
  }

  request(node: string, req: RpcRequest, timeoutMs: number): Promise<unknown> {
    return this.client.request(node, req, timeoutMs);
  }

  send(node: string, req: RpcRequest, timeoutMs: number, to: ReplyTo): void {
    this.client.send(node, req, timeoutMs, to);
  }
}
