import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { errorResponse } from "../src/codec/envelope.js";
import { BadRequestError, ShoalError } from "../src/errors.js";
import { type Described, InFlight } from "../src/inflight.js";
import type { Logger } from "../src/log.js";
import type { ReplyTo } from "../src/reply-to.js";
import { errorEntry, okEntry, parseRequestBatch, tellsEntry } from "./batch-wire.js";
import { Coalescer } from "./coalesce.js";
import type { RpcHandler } from "./transport.js";
import type { TransportLink } from "./transport-link.js";
import { modeOf, type RpcRequest } from "./wire.js";

/**
 * The serving side of node-to-node requests: reads peers' request batches on this node's rpc
 * subject and hands each request to the handler — the entries of a batch synchronously, in
 * order, batches one job after another ({@link TransportLink}) — so a destination that enqueues
 * on receipt keeps the order in which a peer sent. Each request is one {@link Owed} (a batch's
 * tells share one {@link TellAck}); the answers that are ready together go back as one reply
 * batch on the sender's reply subject. A batch is counted in flight ({@link Served}) until all
 * of it has been answered, so a stopping node waits for what it owes.
 */
export class TransportServer {
  /** Peers' batches taken and not yet wholly answered. */
  readonly inflight = new InFlight();
  readonly log: Logger;
  private readonly nc: NatsConnection;
  /** Reply entries (`batch-wire.ts`) by the reply subject they go to; items are their corrs. */
  private readonly replies: Coalescer<string, number>;
  private sub: Subscription | undefined;

  constructor(
    private readonly link: TransportLink,
    /** The rpc subject this node serves on. */
    private readonly subject: string,
  ) {
    this.nc = link.nc;
    this.log = link.log;
    this.replies = new Coalescer(
      link.encode,
      (to, _corrs, bytes) => this.publishReply(to, bytes),
      link.limits,
      (err) => link.log.error({ err }, "could not answer a node batch"),
    );
  }

  /** Starts serving: every request of a peer goes to `handler`. */
  serve(handler: RpcHandler): void {
    this.link.onRequests = (msg) => this.onBatch(msg, handler);
    this.sub = this.nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err === null) this.link.readRequest(msg);
      },
    });
  }

  /** Stops serving, then waits (at most `graceMs`) until every request taken has been answered. */
  async stop(graceMs = 15_000): Promise<void> {
    await this.sub?.drain().catch(() => undefined);
    this.link.handleRequestsNow(); // taken: owed an answer
    if (this.inflight.size > 0)
      this.log.info({ batches: this.inflight.size, requests: this.inflight.pending() }, "node transport stopping: waiting for replies owed");
    if (!(await this.inflight.settled(this.link.clock, graceMs))) this.log.warn({ requests: this.inflight.pending() }, "stopped with replies still owed");
    this.replies.flush();
  }

  private onBatch(msg: Msg, handler: RpcHandler): void {
    let items: ReturnType<typeof parseRequestBatch>;
    try {
      items = parseRequestBatch(this.link.codec.decode(msg.data));
    } catch (err) {
      if (msg.reply) this.publishReply(msg.reply, this.link.codec.encode(errorResponse(err)));
      return;
    }
    const to = msg.reply ?? "";
    const served = new Served(this, to, items.length);
    let tells: TellAck | undefined;
    for (const item of items) {
      if (item.corr === 0) {
        // A tell: answered with the others of its batch, by one acknowledgement.
        tells ??= new TellAck(served);
        tells.add();
        if ("error" in item) tells.fail(item.error);
        else this.handle(handler, item.req, tells, served);
        continue;
      }
      if ("error" in item) {
        served.answered();
        this.answer(to, errorEntry(item.corr, item.error));
        continue;
      }
      this.handle(handler, item.req, new Owed(served, item.corr, item.req), served);
    }
    tells?.read();
  }

  private handle(handler: RpcHandler, req: RpcRequest, to: ReplyTo, served: Served): void {
    served.first ??= req;
    try {
      handler(req, to);
    } catch (err) {
      to.fail(err); // never let a throw reach the connection's reader
    }
  }

  /** Where a request's answer goes: a reply entry to `to`, once. See {@link Owed} and {@link TellAck}. */
  answer(to: string, entry: unknown[]): void {
    if (to === "") return;
    const corr = entry[0] as number;
    let tooBig: number;
    try {
      tooBig = this.replies.add(to, corr, entry);
    } catch (err) {
      // A reply MessagePack cannot hold still gets an answer.
      this.log.error({ err }, "could not encode a reply");
      this.replies.add(to, corr, errorEntry(corr, err));
      return;
    }
    if (tooBig > 0)
      this.replies.add(to, corr, errorEntry(corr, new BadRequestError(`reply of ${tooBig} bytes is over the ${this.link.maxBytes()}-byte limit`)));
  }

  private publishReply(to: string, bytes: Uint8Array): void {
    try {
      this.nc.publish(to, bytes);
    } catch (err) {
      this.log.warn({ err }, "could not answer a node request");
    }
  }
}

/**
 * A peer's batch being served: counted in flight (one entry per batch, not per request) until
 * each of its requests has been answered, so a stopping node waits for what it owes.
 */
class Served implements Described {
  /** The first request handled, for the log of a stop that has to wait. */
  first: RpcRequest | undefined;

  constructor(
    readonly transport: TransportServer,
    readonly to: string,
    private open: number,
  ) {
    if (open > 0) transport.inflight.begin(this);
  }

  /** One of its requests has been answered. */
  answered(): void {
    if (--this.open === 0) this.transport.inflight.end(this);
  }

  describe(): string {
    const req = this.first;
    const what =
      req === undefined
        ? ""
        : req.k === "ask"
          ? `, first ask${req.tail !== undefined ? "(tail)" : ""} ${req.type}/${req.id.slice(0, 40)} hops=${req.hops} v${req.mapVersion}`
          : `, first ${req.k} shard ${req.shard}`;
    return `${this.open} requests of a batch to ${this.to}${what}`;
  }
}

/**
 * The tells of a peer's batch being served: the {@link ReplyTo} of each of them (each calls it
 * once). When the last has been answered — and the batch has been read to its end — it sends
 * the batch's one tell acknowledgement, with how many failed.
 */
class TellAck implements ReplyTo {
  /** Tells not yet answered, plus one until the batch has been read. */
  private open = 1;
  private failed = 0;

  constructor(private readonly batch: Served) {}

  /** One more tell of the batch is being handled. */
  add(): void {
    this.open++;
  }

  /** The batch has been read: no more tells come. */
  read(): void {
    this.settle();
  }

  ok(): void {
    this.batch.answered();
    this.settle();
  }

  fail(err: unknown): void {
    this.failed++;
    if (!ShoalError.is(err)) this.batch.transport.log.error({ err, kind: "tell" }, "node request failed unexpectedly");
    this.batch.answered();
    this.settle();
  }

  private settle(): void {
    if (--this.open === 0) this.batch.transport.answer(this.batch.to, tellsEntry(this.failed));
  }
}

/**
 * A peer's request being served, the handler's {@link ReplyTo}: answered once, with a reply
 * entry (a send with `null`: its reply is not wanted) or an error entry.
 */
class Owed implements ReplyTo {
  private done = false;
  private readonly kind: RpcRequest["k"];
  private readonly discard: boolean;

  constructor(
    private readonly batch: Served,
    private readonly corr: number,
    req: RpcRequest,
  ) {
    this.kind = req.k;
    this.discard = req.k === "ask" && modeOf(req) !== "ask";
  }

  ok(reply: unknown): void {
    if (this.settle()) this.batch.transport.answer(this.batch.to, okEntry(this.corr, this.discard ? null : reply));
  }

  fail(err: unknown): void {
    if (!this.settle()) return;
    if (!ShoalError.is(err)) this.batch.transport.log.error({ err, kind: this.kind }, "node request failed unexpectedly");
    this.batch.transport.answer(this.batch.to, errorEntry(this.corr, err));
  }

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    this.batch.answered();
    return true;
  }
}
