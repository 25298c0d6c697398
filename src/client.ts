import { type ConnectionOptions, connect, type Msg, type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import type { ActorType } from "./actor/calls.js";
import { checkClusterName } from "./actor/names.js";
import { SenderSequences } from "./client-order.js";
import { parseResponse, type RequestEnvelope, type ResponseEnvelope, type Verb } from "./codec/envelope.js";
import { decodeJson, encodeJson } from "./codec/json.js";
import { errorFromWire, OverloadedError, ShoalError, TimeoutError, UnavailableError } from "./errors.js";
import { CallBatcher } from "./client-batch.js";
import { InboxRequests } from "./inbox-requests.js";
import { clusterSubjects } from "./nats-names.js";
import { type NodeRoute, OwnerRoutes } from "./routing/owner-routes.js";
import {
  type ActorRef,
  type Caller,
  type CallOptions,
  makeRef,
  type OnFull,
  onFullOf,
  type RefFactory,
  type RefId,
  TAKEN,
  type TellOptions,
  tellLimits,
} from "./ref.js";
import { Queue } from "./runtime/queue.js";
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
  /**
   * Most tells on their way at once: sent, and not yet taken by a node (a node answers a tell
   * once its router has taken it, within the node's own `tellBound`). Default 1000. Past it a
   * tell waits — and every call made after it waits behind it, so the client's order holds — or
   * fails, by {@link tellOnFull} or its call's `onFull`. A RangeError unless a positive integer.
   */
  tellBound?: number;
  /** What a tell past {@link tellBound} does when its call does not say: `"wait"` (default) or `"fail"` (OVERLOADED, thrown). */
  tellOnFull?: OnFull;
  /**
   * Told when a tell did not reach a node's router: refused there (a node at its own bound with
   * `tellOnFull: "fail"`, an invalid id), no node answered in time, or the client closed first.
   * What fails after a node took it is counted by the nodes. Must not throw. Default: nothing.
   */
  onTellFailed?: (err: ShoalError) => void;
}

/** A call made while tells wait for room: it goes, in order, once the tells before it have. */
interface Held {
  /** A tell (it needs room under the bound); else an ask or a send. */
  tell: boolean;
  go(): void;
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
  private readonly tellBound: number;
  private readonly tellOnFull: OnFull;
  private readonly onTellFailed: ((err: ShoalError) => void) | undefined;
  /** Tells sent and not yet answered. */
  private tellsOut = 0;
  /** Calls waiting for room for the tells among them, in the order they were made. */
  private readonly held = new Queue<Held>();
  /** Resolved once no tell is on its way or waiting (for {@link close}). */
  private tellsDone: (() => void) | undefined;

  /** Closed by {@link close} when the client made it ({@link connect}). */
  private owned: NatsConnection | undefined;

  /**
   * A client on a connection of yours (it does not close it), for the cluster named `cluster`
   * (`--cluster` of its nodes; default "shoal").
   */
  constructor(nc: NatsConnection, cluster = "shoal", opts: ShoalClientOptions = {}) {
    this.subject = clusterSubjects(checkClusterName(cluster)).ask;
    this.requests = new InboxRequests(nc);
    this.timeout = opts.timeout ?? 10_000;
    ({ bound: this.tellBound, onFull: this.tellOnFull } = tellLimits(opts.tellBound, opts.tellOnFull));
    this.onTellFailed = opts.onTellFailed;
    if ((opts.routing ?? "owner") === "owner") {
      this.routes = new OwnerRoutes(nc, cluster);
      this.routes.start();
      if (opts.batching ?? true) this.batcher = new CallBatcher((subject, data, timeout) => this.request(subject, data, timeout));
    }
  }

  /**
   * Connects to NATS (nats.js connection options: `servers`, credentials, TLS…) and makes a
   * client that owns the connection: {@link close} closes it. `cluster` (default "shoal") and
   * the {@link ShoalClientOptions} are as for the constructor. Rejects with NATS's error when it
   * cannot connect, or BAD_REQUEST for an invalid cluster name.
   */
  static async connect(opts: ConnectionOptions & ShoalClientOptions & { cluster?: string }): Promise<ShoalClient> {
    const { cluster, timeout, routing, batching, tellBound, tellOnFull, onTellFailed, ...natsOptions } = opts;
    checkClusterName(cluster ?? "shoal");
    const nc = await connect({ name: "shoal-client", ...natsOptions });
    const client = new ShoalClient(nc, cluster, { timeout, routing, batching, tellBound, tellOnFull, onTellFailed });
    client.owned = nc;
    return client;
  }

  /** A typed reference to actor `id` of the given type (a definition, or `actorType`); a singleton's definition needs no id. */
  ref<A extends ActorType>(type: A, ...id: RefId<A>): ActorRef<A> {
    return makeRef(this, type, id[0]);
  }

  /** Untyped ask; use {@link ref}. @internal */
  ask<R = unknown>(type: string, id: string, msg: unknown, opts?: CallOptions): Promise<R> {
    return this.inTurn(() => this.call("ask", type, id, msg, opts)) as Promise<R>;
  }

  /** Untyped send; use {@link ref}. @internal */
  async send(type: string, id: string, msg: unknown, opts?: CallOptions): Promise<void> {
    await this.inTurn(() => this.call("send", type, id, msg, opts));
  }

  /**
   * Untyped tell; use {@link ref}. Sent as a request that the node answers once its router has
   * taken the tell (nothing of the turn comes back); the promise resolves once the tell is sent
   * — at once under {@link ShoalClientOptions.tellBound} — and never rejects; a tell the node
   * refused or that reached none goes to {@link ShoalClientOptions.onTellFailed}. Throws
   * OVERLOADED past the bound with `onFull: "fail"` (nothing sent). A closed client drops it.
   * @internal
   */
  tell(type: string, id: string, msg: unknown, opts?: TellOptions): Promise<void> {
    const onFull = onFullOf(opts, this.tellOnFull);
    if (this.closed) return TAKEN;
    const timeout = opts?.timeout ?? this.timeout;
    if (this.held.length === 0 && this.tellsOut < this.tellBound) {
      this.sendTell(type, id, msg, timeout);
      return TAKEN;
    }
    if (onFull === "fail") {
      throw new OverloadedError(`this client has ${this.tellsOut} tells on their way (tellBound ${this.tellBound})`, {
        details: { tellBound: this.tellBound },
      });
    }
    // Past its timeout before it could be sent, it is dropped (later messages may already count it as settled).
    const until = performance.now() + timeout;
    return new Promise((resolve) => {
      this.held.push({
        tell: true,
        go: () => {
          if (performance.now() < until) this.sendTell(type, id, msg, timeout);
          else this.onTellFailed?.(new TimeoutError(`a tell to ${type} waited past its timeout (${timeout} ms) for room under tellBound`));
          resolve();
        },
      });
    });
  }

  /** Runs `start` (which stamps and sends a call synchronously) now, or in its turn behind the calls waiting for room. */
  private inTurn<T>(start: () => Promise<T>): Promise<T> {
    if (this.held.length === 0) return start();
    return new Promise((ok, fail) => this.held.push({ tell: false, go: () => start().then(ok, fail) }));
  }

  /** One tell, answered once a node's router has taken it; room is made when it is answered or has failed. */
  private sendTell(type: string, id: string, msg: unknown, timeout: number): void {
    this.tellsOut++;
    this.call("tell", type, id, msg, { timeout }).then(
      () => this.tellEnded(),
      (err: unknown) => {
        this.tellEnded();
        const e = ShoalError.is(err) ? err : new UnavailableError(`a tell to ${type} failed: ${String((err as Error)?.message ?? err)}`, { cause: err });
        this.onTellFailed?.(e);
      },
    );
  }

  /** A tell was answered (or failed): the calls waiting for room go, in order, while there is room. */
  private tellEnded(): void {
    this.tellsOut--;
    for (let h = this.held.peek(); h !== undefined && !(h.tell && this.tellsOut >= this.tellBound); h = this.held.peek()) {
      this.held.shift();
      h.go();
    }
    if (this.tellsOut === 0 && this.held.length === 0) this.tellsDone?.();
  }

  /**
   * Waits for the tells on their way (and the calls waiting for room) to be answered, each
   * within its timeout, then ends the reply subscription (calls in flight fail UNAVAILABLE)
   * and closes the connection if the client made it. Tells made after `close` are dropped.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tellsOut > 0 || this.held.length > 0) await new Promise<void>((resolve) => (this.tellsDone = resolve));
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
