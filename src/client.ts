import { type ConnectionOptions, connect, type Msg, type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import type { ActorType } from "./actor/calls.js";
import { checkClusterName } from "./actor/names.js";
import { SenderSequences } from "./client-order.js";
import { parseResponse, type RequestEnvelope, type ResponseEnvelope, type Verb } from "./codec/envelope.js";
import { decodeJson, encodeJson } from "./codec/json.js";
import { errorFromWire, TimeoutError, UnavailableError } from "./errors.js";
import { CallBatcher } from "./client-batch.js";
import { InboxRequests } from "./inbox-requests.js";
import { clusterSubjects } from "./nats-names.js";
import { type NodeRoute, OwnerRoutes } from "./routing/owner-routes.js";
import { type ActorRef, type Caller, type CallOptions, makeRef, type RefFactory, type RefId } from "./ref.js";
import { topicsOver } from "./topics/topics.js";
import type { Topics } from "./topics/types.js";

/** Options of a {@link ShoalClient}. */
export interface ShoalClientOptions {
  /** Default time (ms) a call waits for its answer. Default 10 000. */
  timeout?: number;
  /**
   * How calls find their actor's node (default `"owner"`):
   * - `"owner"`: follow the cluster's shard map (read from its KV bucket whenever it is written) and send each call
   *   straight to its owner's node subject, so no node forwards it. Until the map is known, or
   *   when the owner's node is gone, calls go through the shared subject;
   * - `"any"`: always the shared subject (`shoal.<cluster>.ask`), where any node takes the call
   *   and routes it; for clients whose NATS permissions do not cover reading the map.
   */
  routing?: "owner" | "any";
  /**
   * With `routing: "owner"`, send the asks and sends made in one job for one node as one
   * request (a batch on its `…asks` subject), not one request each (default true). Cheaper for
   * the client, the server and the node when many calls are in flight; a lone call is a batch
   * of one. Each call still gets its own answer or error.
   */
  batching?: boolean;
}

/**
 * Calls a Shoal cluster from outside it, over the ingress contract (JSON) that any NATS client in
 * any language can speak. The client joins nothing; it follows the shard map and sends each call
 * to the owner's node — the calls of one job for one node together, as one batch on
 * `shoal.<cluster>.node.<token>.asks` — falling back to the shared subject (`shoal.<cluster>.ask`,
 * any node takes the call and routes it) while it knows no owner.
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
  private readonly routes: OwnerRoutes | undefined;
  /** Undefined with batching off, or once NATS refused this client the batch subject. */
  private batcher: CallBatcher | undefined;
  /** Stamps every call with this client's sender id and a sequence number per actor. */
  private readonly order = new SenderSequences();
  private closed = false;
  /** Publishes on topics through the cluster's ingress (see {@link Topics}). */
  readonly topics: Topics = topicsOver(this);

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
    if ((opts.routing ?? "owner") === "owner") {
      this.routes = new OwnerRoutes(nc, cluster);
      this.routes.start();
      if (opts.batching ?? true) this.batcher = new CallBatcher((subject, data, timeout) => this.request(subject, data, timeout));
    }
  }

  /**
   * Connects to NATS (nats.js connection options: `servers`, credentials, TLS…) and makes a
   * client that owns the connection: {@link close} closes it. `cluster` (default "shoal"),
   * `timeout`, `routing` and `batching` are as for the constructor. Rejects with NATS's error when it cannot connect, or
   * BAD_REQUEST for an invalid cluster name.
   */
  static async connect(opts: ConnectionOptions & ShoalClientOptions & { cluster?: string }): Promise<ShoalClient> {
    const { cluster, timeout, routing, batching, ...natsOptions } = opts;
    checkClusterName(cluster ?? "shoal");
    const nc = await connect({ name: "shoal-client", ...natsOptions });
    const client = new ShoalClient(nc, cluster, { timeout, routing, batching });
    client.owned = nc;
    return client;
  }

  /** A typed reference to actor `id` of the given type (a definition, or `actorType`); a singleton's definition needs no id. */
  ref<A extends ActorType>(type: A, ...id: RefId<A>): ActorRef<A> {
    return makeRef(this, type, id[0]);
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
      this.nc.publish(this.routes?.subjectFor(type, id) ?? this.subject, encodeJson(body));
    } catch {
      // Fire-and-forget: a closed connection or a message NATS refuses is not the caller's to hear.
    }
  }

  /** Ends the reply subscription (calls in flight fail UNAVAILABLE) and closes the connection if the client made it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.routes?.stop();
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
    // Stamped once: a resend after no responders carries the same sequence number.
    this.order.stamp(body, timeout);
    const data = encodeJson(body);
    const route = this.routes?.route(type, id);
    let res: ResponseEnvelope;
    if (route === undefined) {
      res = answerOf(await this.request(this.subject, data, timeout));
    } else {
      try {
        res = await this.toOwner(route, data, timeout);
      } catch (err) {
        // No responders: the request reached no node (the owner's is gone), so it is safe to
        // send again, through the shared subject, where any live node takes it.
        if (!(err instanceof NoOneServes)) throw err;
        res = answerOf(await this.request(this.subject, data, timeout));
      }
    }
    if (!res.ok) throw errorFromWire(res.error);
    return res.reply;
  }

  /** One call to the owner's node: in a batch unless batching is off or NATS refused this client the batch subject. */
  private async toOwner(route: NodeRoute, data: Uint8Array, timeout: number): Promise<ResponseEnvelope> {
    if (this.batcher === undefined) return answerOf(await this.request(route.ask, data, timeout));
    try {
      return await this.batcher.call(route.batch, data, timeout);
    } catch (err) {
      // Permissions that predate the batch subject: nothing was delivered; go on without batches.
      if (!isPermissionViolation(err)) throw err;
      this.batcher = undefined;
      return answerOf(await this.request(route.ask, data, timeout));
    }
  }

  private async request(subject: string, data: Uint8Array, timeout: number): Promise<Msg> {
    try {
      // The transport waits a little longer than the node, so the node's TIMEOUT answer wins.
      return await this.requests.request(subject, data, { timeout: timeout + 1000 });
    } catch (err) {
      const text = String((err as Error)?.message ?? err);
      if (/no responders/i.test(text) || (err as { code?: string })?.code === "503") {
        throw new NoOneServes(`no Shoal node serves ${subject}`, { cause: err });
      }
      if (/timeout/i.test(text)) throw new TimeoutError(`no answer on ${subject} in ${timeout + 1000} ms`);
      throw new UnavailableError(`request on ${subject} failed: ${text}`, { cause: err });
    }
  }
}

function isPermissionViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof PermissionViolationError) return true;
  return false;
}

/** The answer a node sent to one request. */
function answerOf(reply: Msg): ResponseEnvelope {
  return parseResponse(decodeJson(reply.data));
}

/** UNAVAILABLE because no subscriber took the request: nothing was delivered, so it may be sent again. */
class NoOneServes extends UnavailableError {}
