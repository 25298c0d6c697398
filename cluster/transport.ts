import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { errorResponse, okResponse, parseResponse } from "../src/codec/envelope.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { encodeToken } from "../src/codec/token.js";
import { errorFromWire, ShoalError, TimeoutError, UnavailableError } from "../src/errors.js";
import { type Logger, silentLogger } from "../src/log.js";
import { parseRpc, type RpcRequest } from "./wire.js";
import { type Clock, systemClock } from "../src/clock.js";
import { InFlight } from "../src/inflight.js";

/** The subject a node serves its peers on. */
export function rpcSubject(cluster: string, nodeId: string): string {
  return `shoal.${cluster}.node.${encodeToken(nodeId)}.rpc`;
}

/** Sends node requests and serves them. The NATS implementation is below; tests may fake it. */
export interface Transport {
  /** Resolves to the reply, or rejects with the typed error the peer answered (or UNAVAILABLE / TIMEOUT). */
  request(node: string, req: RpcRequest, timeoutMs: number): Promise<unknown>;
}

export type RpcHandler = (req: RpcRequest) => Promise<unknown>;

/**
 * Request/reply between nodes over NATS, MessagePack both ways, one subscription per node.
 * Messages are handed to the handler synchronously in arrival order: a destination that
 * enqueues on receipt keeps the order in which a peer sent.
 */
export class NatsTransport implements Transport {
  private readonly codec = new MsgpackCodec();
  private sub: Subscription | undefined;
  private readonly inflight = new InFlight();

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly log: Logger = silentLogger,
    private readonly clock: Clock = systemClock,
  ) {}

  serve(nodeId: string, handler: RpcHandler): void {
    this.sub = this.nc.subscribe(rpcSubject(this.cluster, nodeId), {
      callback: (err, msg) => {
        if (err === null) this.onRequest(msg, handler);
      },
    });
  }

  /** Stops serving, then waits (at most `graceMs`) until every request taken has been answered. */
  async stop(graceMs = 15_000): Promise<void> {
    await this.sub?.drain().catch(() => undefined);
    if (this.inflight.size > 0) this.log.info({ waiting: this.inflight.size, requests: this.inflight.pending() }, "node transport stopping: waiting for replies owed");
    if (!(await this.inflight.settled(this.clock, graceMs))) this.log.warn({ requests: this.inflight.pending() }, "stopped with replies still owed");
  }

  async request(node: string, req: RpcRequest, timeoutMs: number): Promise<unknown> {
    let reply: Msg;
    try {
      reply = await this.nc.request(rpcSubject(this.cluster, node), this.codec.encode(req), { timeout: timeoutMs });
    } catch (err) {
      const text = String((err as Error)?.message ?? err);
      if (/no responders/i.test(text) || (err as { code?: string })?.code === "503") {
        throw new UnavailableError(`node ${node} does not answer (no responders)`, { cause: err, details: { node } });
      }
      if (/timeout/i.test(text)) throw new TimeoutError(`node ${node} did not answer in ${timeoutMs} ms`, { details: { node } });
      throw new UnavailableError(`request to node ${node} failed: ${text}`, { cause: err, details: { node } });
    }
    const res = parseResponse(this.codec.decode(reply.data));
    if (!res.ok) throw errorFromWire(res.error);
    return res.reply;
  }

  private onRequest(msg: Msg, handler: RpcHandler): void {
    let req: RpcRequest;
    try {
      req = parseRpc(this.codec.decode(msg.data));
    } catch (err) {
      this.respond(msg, errorResponse(err));
      return;
    }
    let answer: Promise<unknown>;
    try {
      answer = handler(req);
    } catch (err) {
      answer = Promise.reject(err); // never let a throw reach the connection's reader
    }
    const label = req.k === "ask" ? `ask${req.tail !== undefined ? "(tail)" : ""} ${req.type}/${req.id.slice(0, 40)} hops=${req.hops} v${req.mapVersion}` : `${req.k} shard ${req.shard}`;
    this.inflight.track(answer, label).then(
      (reply) => this.respond(msg, okResponse(reply)),
      (err: unknown) => {
        if (!ShoalError.is(err)) this.log.error({ err, kind: req.k }, "node request failed unexpectedly");
        this.respond(msg, errorResponse(err));
      },
    );
  }

  private respond(msg: Msg, body: unknown): void {
    if (!msg.reply) return;
    try {
      msg.respond(this.codec.encode(body));
    } catch (err) {
      this.log.warn({ err }, "could not answer a node request");
    }
  }
}
