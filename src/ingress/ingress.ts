import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decodeJson, encodeJson } from "../codec/json.js";
import { type DecodeLimits, defaultDecodeLimits } from "../codec/limits.js";
import { MsgpackCodec } from "../codec/msgpack.js";
import { errorResponse, MSGPACK_CONTENT_TYPE, okResponse, parseRequest, type RequestEnvelope, type ResponseEnvelope, type Verb } from "../codec/envelope.js";
import { orderOf } from "../codec/envelope.js";
import { BadRequestError, ShoalError } from "../errors.js";
import { type Clock, systemClock } from "../clock.js";
import { InFlight } from "../inflight.js";
import { type Logger, silentLogger } from "../log.js";
import type { Caller } from "../ref.js";
import { clusterSubjects, nodeAskSubject, nodeBatchSubject } from "../nats-names.js";

/** Most requests in one batch on a node's `…asks` subject. */
export const MAX_BATCH = 1024;

/** Options of an {@link Ingress}. */
export interface IngressOptions {
  nc: NatsConnection;
  cluster: string;
  /**
   * The node this ingress runs on: it also serves the node's own subject
   * (`shoal.<cluster>.node.<token(nodeId)>.ask`), where clients that follow the shard map send
   * calls for the actors this node owns.
   */
  nodeId?: string;
  /** What carries the requests: the runtime on one node, the router in a cluster. */
  caller: Caller;
  logger?: Logger;
  limits?: DecodeLimits;
  clock?: Clock;
  /**
   * Called once per request answered: the requested type (`""` when the request did not parse;
   * client-chosen, so bound it before using it as a label), its verb, `"ok"` or the error code
   * (for a tell: `"accepted"`, or the error that refused it at once), and the seconds from
   * receipt to reply. It must not throw (a throw is logged and ignored).
   */
  onAnswered?: (type: string, verb: Verb, outcome: string, seconds: number) => void;
}

/**
 * Serves `shoal.<cluster>.ask` for any NATS client, in one queue group across the nodes, and the
 * node's own `shoal.<cluster>.node.<token>.ask` (same contract) for clients that route by the map.
 * Every ask and send gets exactly one reply in the format it came in (JSON by default); a tell
 * with a reply subject gets `{ok: true, reply: null}` once the node has taken it (past the
 * node's `tellBound`, that waits for room: how a client's tells feel the cluster's pace), or the
 * error that refused it; a tell without one gets nothing. Nothing a client sends can throw out
 * of the handler.
 */
export class Ingress {
  private readonly subs: Subscription[];
  private readonly log: Logger;
  private readonly codec: MsgpackCodec;
  private readonly limits: DecodeLimits;
  private readonly inflight = new InFlight();

  constructor(private readonly opts: IngressOptions) {
    this.log = opts.logger ?? silentLogger;
    this.limits = opts.limits ?? defaultDecodeLimits;
    this.codec = new MsgpackCodec(this.limits);
    const s = clusterSubjects(opts.cluster);
    const callback = this.guarded((msg) => this.onMessage(msg));
    this.subs = [opts.nc.subscribe(s.ask, { queue: s.askQueue, callback })];
    if (opts.nodeId !== undefined) {
      this.subs.push(opts.nc.subscribe(nodeAskSubject(opts.cluster, opts.nodeId), { callback }));
      this.subs.push(opts.nc.subscribe(nodeBatchSubject(opts.cluster, opts.nodeId), { callback: this.guarded((msg) => this.onBatch(msg)) }));
    }
    // A subscription counts at the server once it has read it: a round trip after sending.
    this.ready = opts.nc.flush().catch(() => undefined);
  }

  /**
   * Resolves once the server the node is connected to has its subscriptions: a request sent
   * after that finds this node (never rejects; a closed connection resolves it too).
   */
  readonly ready: Promise<void>;

  /** Requests being answered right now. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /**
   * Stops taking requests, then waits (at most `graceMs`) until every request taken has been
   * answered: a node leaving the cluster still owes replies for asks it forwarded elsewhere.
   */
  async stop(graceMs = 15_000): Promise<void> {
    // Idempotent: a second stop finds them closed.
    await Promise.all(this.subs.map((sub) => sub.drain().catch(() => undefined)));
    if (this.inflight.size > 0) this.log.info({ waiting: this.inflight.size, requests: this.inflight.pending() }, "ingress stopping: waiting for replies owed");
    if (!(await this.inflight.settled(this.opts.clock ?? systemClock, graceMs))) {
      this.log.warn({ requests: this.inflight.pending() }, "ingress stopped with replies still owed");
    }
  }

  /** A subscription callback that logs a subscription error instead of handling a message. */
  private guarded(handle: (msg: Msg) => void): (err: Error | null, msg: Msg) => void {
    return (err, msg) => {
      if (err !== null) this.log.warn({ err }, "ingress subscription error");
      else handle(msg);
    };
  }

  private onMessage(msg: Msg): void {
    const received = performance.now();
    const msgpack = isMsgpack(msg);
    let request: RequestEnvelope;
    try {
      request = parseRequest(this.decode(msg.data, msgpack));
    } catch (e) {
      this.respond(msg, msgpack, errorResponse(e), "", "ask", received);
      return;
    }
    const verb = request.verb ?? "ask";
    if (!msg.reply) {
      if (verb === "tell") return this.tell(request, received);
      this.log.debug({ type: request.type }, "ingress request without reply subject dropped");
      return;
    }
    this.inflight
      .track(this.dispatch(request, verb), () => `${request.type}/${request.id.slice(0, 40)}`)
      .then((body) => this.respond(msg, msgpack, body, request.type, verb, received));
  }

  /**
   * A batch on the node's own `…asks` subject: an array of 1 to {@link MAX_BATCH} requests,
   * answered with one message holding an array of their answers, in order, once every one is in
   * (a tell's once it has been taken). A batch that is not such an array gets a single error
   * answer instead.
   */
  private onBatch(msg: Msg): void {
    const received = performance.now();
    const msgpack = isMsgpack(msg);
    if (!msg.reply) return;
    let entries: unknown[];
    try {
      const raw = this.decode(msg.data, msgpack);
      if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BATCH) {
        throw new BadRequestError(`a batch is an array of 1 to ${MAX_BATCH} requests`);
      }
      entries = raw;
    } catch (e) {
      this.respond(msg, msgpack, errorResponse(e), "", "ask", received);
      return;
    }
    // What each entry was, for counting it once its answer has been sent.
    const kinds: Array<{ type: string; verb: Verb }> = [];
    const answers = entries.map((entry): Promise<ResponseEnvelope> => {
      let request: RequestEnvelope;
      try {
        request = parseRequest(entry);
      } catch (e) {
        kinds.push({ type: "", verb: "ask" });
        return Promise.resolve(errorResponse(e));
      }
      const verb = request.verb ?? "ask";
      kinds.push({ type: request.type, verb });
      return this.dispatch(request, verb);
    });
    this.inflight
      .track(Promise.all(answers), () => `batch of ${entries.length}`)
      .then((bodies) => {
        const sent = this.replyBatch(msg, msgpack, bodies);
        for (const [i, body] of sent.entries()) this.count(kinds[i]!.type, kinds[i]!.verb, outcomeOf(body, kinds[i]!.verb), received);
      });
  }

  /**
   * Hands a request to the caller; resolves (never rejects) to its answer: an ask's reply, `null`
   * once a send has been applied or once a tell has been taken (the node's `tellBound`), or the
   * error.
   */
  private dispatch(request: RequestEnvelope, verb: Verb): Promise<ResponseEnvelope> {
    let answer: Promise<unknown>;
    try {
      const opts = { timeout: request.timeoutMs, order: orderOf(request) };
      const { caller } = this.opts;
      answer =
        verb === "send"
          ? caller.send(request.type, request.id, request.msg, opts)
          : verb === "tell"
            ? caller.tell(request.type, request.id, request.msg, opts)
            : caller.ask(request.type, request.id, request.msg, opts);
    } catch (e) {
      // A synchronous throw must not escape: it would tear down the connection's reader.
      answer = Promise.reject(e);
    }
    return answer.then(okResponse, (e: unknown) => {
      if (!ShoalError.is(e)) this.log.error({ err: e, type: request.type }, "request failed unexpectedly");
      return errorResponse(e);
    });
  }

  /** A tell without a reply subject: handed on, never answered (its failures are counted where they happen). */
  private tell(request: RequestEnvelope, received: number): void {
    let outcome = "accepted";
    try {
      this.opts.caller.tell(request.type, request.id, request.msg, { timeout: request.timeoutMs, order: orderOf(request) });
    } catch (e) {
      outcome = ShoalError.is(e) ? e.code : "INTERNAL";
      this.log.debug({ err: e, type: request.type }, "a tell was refused");
    }
    this.count(request.type, "tell", outcome, received);
  }

  private respond(msg: Msg, msgpack: boolean, body: ResponseEnvelope, type: string, verb: Verb, received: number): void {
    if (!msg.reply) return;
    this.count(type, verb, outcomeOf(this.reply(msg, msgpack, body), verb), received);
  }

  private count(type: string, verb: Verb, outcome: string, received: number): void {
    if (this.opts.onAnswered === undefined) return;
    try {
      // performance.now, not the clock: sub-millisecond latencies are what a histogram needs.
      this.opts.onAnswered(type, verb, outcome, (performance.now() - received) / 1000);
    } catch (err) {
      this.log.warn({ err }, "onAnswered hook threw");
    }
  }

  private decode(data: Uint8Array, msgpack: boolean): unknown {
    return msgpack ? this.codec.decode(data) : decodeJson(data, this.limits);
  }

  /** Encodes `value` in the request's format and answers with it; throws when it cannot be encoded. */
  private send(msg: Msg, msgpack: boolean, value: unknown): void {
    if (!msgpack) {
      msg.respond(encodeJson(value));
      return;
    }
    const h = natsHeaders();
    h.set("Content-Type", MSGPACK_CONTENT_TYPE);
    msg.respond(this.codec.encode(value), { headers: h });
  }

  /** Sends `body` (or, if it cannot be encoded, an error); returns what was sent. */
  private reply(msg: Msg, msgpack: boolean, body: ResponseEnvelope): ResponseEnvelope {
    try {
      this.send(msg, msgpack, body);
      return body;
    } catch (e) {
      // A reply we cannot encode (a reply value the format cannot hold) still gets an answer.
      this.log.error({ err: e }, "could not encode a reply");
      const fallback = errorResponse(e);
      this.send(msg, msgpack, fallback);
      return fallback;
    }
  }

  /** Sends a batch's answers (an answer that cannot be encoded replaced by its error); returns what was sent. */
  private replyBatch(msg: Msg, msgpack: boolean, bodies: ResponseEnvelope[]): ResponseEnvelope[] {
    try {
      this.send(msg, msgpack, bodies);
      return bodies;
    } catch {
      const encodable = bodies.map((b) => {
        try {
          if (msgpack) this.codec.encode(b);
          else encodeJson(b);
          return b;
        } catch (e) {
          this.log.error({ err: e }, "could not encode a reply");
          return errorResponse(e);
        }
      });
      this.send(msg, msgpack, encodable);
      return encodable;
    }
  }
}

function isMsgpack(msg: Msg): boolean {
  return msg.headers?.get("Content-Type") === MSGPACK_CONTENT_TYPE;
}

function outcomeOf(body: ResponseEnvelope, verb: Verb): string {
  return body.ok ? (verb === "tell" ? "accepted" : "ok") : body.error.code;
}
