import { type ConnectionOptions, connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { ActorType } from "./actor/calls.js";
import { checkClusterName } from "./actor/names.js";
import { SenderSequences } from "./client-order.js";
import { parseResponse, type RequestEnvelope, type Verb } from "./codec/envelope.js";
import { decodeJson, encodeJson } from "./codec/json.js";
import { errorFromWire, TimeoutError, UnavailableError } from "./errors.js";
import { InboxRequests } from "./inbox-requests.js";
import { clusterSubjects } from "./nats-names.js";
import { type ActorRef, type Caller, type CallOptions, makeRef, type RefFactory } from "./ref.js";

/** Options of a {@link ShoalClient}. */
export interface ShoalClientOptions {
  /** Default time (ms) a call waits for its answer. Default 10 000. */
  timeout?: number;
}

/**
 * Calls a Shoal cluster from outside it, over the ingress contract (`shoal.<cluster>.ask`, JSON)
 * that any NATS client in any language can speak: the client joins nothing and holds no shard
 * map; any node takes a call and routes it to the actor's owner.
 *
 * ```ts
 * const client = await ShoalClient.connect({ servers: "nats://127.0.0.1:4222", cluster: "bank" });
 * const alice = client.ref(account, "alice");
 * const { balance } = await alice.ask({ deposit: { amount: 5, txn: "t-1" } });
 * await client.close();
 * ```
 *
 * Failures are the typed errors the node sent (`BAD_REQUEST`, `REJECTED`, `TIMEOUT`, …), or
 * `UNAVAILABLE` when no node serves the cluster. Replies come to one inbox subscription of the
 * client's, made on the first call.
 */
export class ShoalClient implements RefFactory, Caller {
  private readonly nc: NatsConnection;
  private readonly subject: string;
  private readonly requests: InboxRequests;
  private readonly timeout: number;
  /** Stamps every call with this client's sender id and a sequence number per actor. */
  private readonly order = new SenderSequences();
  private closed = false;

  /** Closed by {@link close} when the client made it ({@link connect}). */
  private owned: NatsConnection | undefined;

  /**
   * A client on a connection of yours (it does not close it), for the cluster named `cluster`
   * (`--cluster` of its nodes; default "shoal").
   */
  constructor(nc: NatsConnection, cluster = "shoal", opts: ShoalClientOptions = {}) {
    this.nc = nc;
    this.subject = clusterSubjects(checkClusterName(cluster)).ask;
    this.requests = new InboxRequests(nc);
    this.timeout = opts.timeout ?? 10_000;
  }

  /**
   * Connects to NATS (nats.js connection options: `servers`, credentials, TLS…) and makes a
   * client that owns the connection: {@link close} closes it. `cluster` (default "shoal") and
   * `timeout` are as for the constructor. Rejects with NATS's error when it cannot connect, or
   * BAD_REQUEST for an invalid cluster name.
   */
  static async connect(opts: ConnectionOptions & { cluster?: string; timeout?: number }): Promise<ShoalClient> {
    const { cluster, timeout, ...natsOptions } = opts;
    checkClusterName(cluster ?? "shoal");
    const nc = await connect({ name: "shoal-client", ...natsOptions });
    const client = new ShoalClient(nc, cluster, { timeout });
    client.owned = nc;
    return client;
  }

  /** A typed reference to actor `id` of the given type (a definition, or `actorType`). */
  ref<A extends ActorType>(type: A, id: string): ActorRef<A> {
    return makeRef(this, type, id);
  }

  /** Untyped ask; use {@link ref}. @internal */
  ask<R = unknown>(type: string, id: string, msg: unknown, opts?: CallOptions): Promise<R> {
    return this.call("ask", type, id, msg, opts) as Promise<R>;
  }

  /** Untyped send; use {@link ref}. @internal */
  async send(type: string, id: string, msg: unknown, opts?: CallOptions): Promise<void> {
    await this.call("send", type, id, msg, opts);
  }

  /**
   * Untyped tell; use {@link ref}. Published without a reply subject: nothing comes back, not
   * even an error. @internal
   */
  tell(type: string, id: string, msg: unknown, opts?: CallOptions): void {
    if (this.closed) return;
    const body: RequestEnvelope = { type, id, msg, timeoutMs: opts?.timeout ?? this.timeout, verb: "tell" };
    this.order.stamp(body, body.timeoutMs!);
    try {
      this.nc.publish(this.subject, encodeJson(body));
    } catch {
      // Fire-and-forget: a closed connection or a message NATS refuses is not the caller's to hear.
    }
  }

  /** Ends the reply subscription (calls in flight fail UNAVAILABLE) and closes the connection if the client made it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.requests.close();
    await this.owned?.close();
  }

  /** Disposes of the client like {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async call(verb: Verb, type: string, id: string, msg: unknown, opts?: CallOptions): Promise<unknown> {
    const timeout = opts?.timeout ?? this.timeout;
    const body: RequestEnvelope = { type, id, msg, timeoutMs: timeout };
    if (verb !== "ask") body.verb = verb;
    this.order.stamp(body, timeout);
    let reply: Msg;
    try {
      // The transport waits a little longer than the node, so the node's TIMEOUT answer wins.
      reply = await this.requests.request(this.subject, encodeJson(body), { timeout: timeout + 1000 });
    } catch (err) {
      const text = String((err as Error)?.message ?? err);
      if (/no responders/i.test(text) || (err as { code?: string })?.code === "503") {
        throw new UnavailableError(`no Shoal node serves ${this.subject}`, { cause: err });
      }
      if (/timeout/i.test(text)) throw new TimeoutError(`no answer on ${this.subject} in ${timeout + 1000} ms`);
      throw new UnavailableError(`request on ${this.subject} failed: ${text}`, { cause: err });
    }
    const res = parseResponse(decodeJson(reply.data));
    if (!res.ok) throw errorFromWire(res.error);
    return res.reply;
  }
}
