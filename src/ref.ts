import type { ActorType, MessageOf, ReplyOf } from "./actor/calls.js";
import { checkActorId, checkActorTypeName } from "./actor/names.js";
import { checkSingletonId, singletonId } from "./actor/singleton.js";
import type { SenderSeq } from "./codec/envelope.js";
import type { From } from "./runtime/outgoing.js";

/** Options of one call through a reference. */
export interface CallOptions {
  /** Milliseconds until the call fails with TIMEOUT (default: the caller's default, 10 s). */
  timeout?: number;
}

/**
 * One actor, addressed by type and id, typed by its definition. The same reference works in one
 * process (the `Runtime` of `shoal/node`, or `testRuntime`), on a cluster node (`ShoalNode`) and
 * from a client outside the cluster ({@link ShoalClient}); it holds no connection of its own and
 * costs nothing to make.
 *
 * - `ask` answers the actor's reply to this message (its type follows the message).
 * - `send` resolves once the turn has been applied, without the reply.
 * - `tell` is fire-and-forget: it returns nothing, and a failure reaches no caller (nodes count
 *   it in `shoal_tells_failed_total`).
 *
 * Each may fail with a typed `ShoalError` (`code` BAD_REQUEST, REJECTED, TIMEOUT, …); a message
 * that timed out may still have been applied, so retries carry an idempotency key.
 */
export interface ActorRef<A extends ActorType = ActorType> {
  /** The actor's type name. */
  readonly type: string;
  /** The actor's id (checked when the reference was made). */
  readonly id: string;
  /**
   * Resolves to the actor's reply to `msg` once its turn has run and any events are stored.
   * Rejects with BAD_REQUEST (invalid message; nothing queued), UNKNOWN_ACTOR_TYPE, REJECTED (the
   * handler refused), OVERLOADED (mailbox full), TIMEOUT (no reply in `opts.timeout`; it may still
   * be applied), UNAVAILABLE, or, rarely, CONFLICT / ACTOR_MOVED when the actor's writer or owner
   * changed under it and retries ran out.
   */
  ask<M extends MessageOf<A>>(msg: M, opts?: CallOptions): Promise<ReplyOf<A, M>>;
  /** Like {@link ask}, with the same errors, but resolves to nothing: the reply is not carried back. */
  send(msg: MessageOf<A>, opts?: CallOptions): Promise<void>;
  /**
   * Fire-and-forget: returns at once and never throws. Neither the outcome nor an error comes
   * back; `opts.timeout` still bounds how long the message may wait for its turn.
   */
  tell(msg: MessageOf<A>, opts?: CallOptions): void;
}

/**
 * A call's options as the ingress hands them on: a client's place in its order of messages to
 * this actor (the contract's `sender`/`seq`/`settled`), which the actor's owner applies in
 * order. @internal
 */
export interface DeliveryOptions extends CallOptions {
  order?: SenderSeq;
  /** Set by the runtime on messages between actors: the outgoing message it is, and the chain of waiting asks. */
  from?: From;
}

/** What carries a reference's calls: the runtime, a node's router, or the ingress client. @internal */
export interface Caller {
  ask(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<unknown>;
  send(type: string, id: string, msg: unknown, opts?: DeliveryOptions): Promise<void>;
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions): void;
}

/** The id `ref` takes for type `A`: optional for a singleton's definition (its one id is its type's name), required otherwise. */
export type RefId<A> = A extends Required<Pick<ActorType, "singleton">> ? [id?: string] : [id: string];

/** Something references are made from: `runtime.ref(...)`, `node.ref(...)`, `client.ref(...)`. */
export interface RefFactory {
  /**
   * A reference to actor `id` of the given type (a definition, or {@link actorType}); a
   * singleton's definition needs no id. Throws BAD_REQUEST for an invalid id (or, for a
   * singleton, any id but its type's name).
   */
  ref<A extends ActorType>(type: A, ...id: RefId<A>): ActorRef<A>;
}

/** A reference over `caller`. The type name and id are checked once, here, not per call. @internal */
export function makeRef<A extends ActorType>(caller: Caller, type: A, id?: string): ActorRef<A> {
  const name = checkActorTypeName(type?.type);
  if (type.singleton === true) {
    const one = id ?? singletonId(name);
    checkSingletonId({ type: name, singleton: true }, one);
    return new Ref(caller, name, one) as unknown as ActorRef<A>;
  }
  return new Ref(caller, name, checkActorId(id)) as unknown as ActorRef<A>;
}

class Ref {
  constructor(
    private readonly caller: Caller,
    readonly type: string,
    readonly id: string,
  ) {}

  ask(msg: unknown, opts?: CallOptions): Promise<unknown> {
    return this.caller.ask(this.type, this.id, msg, opts);
  }

  send(msg: unknown, opts?: CallOptions): Promise<void> {
    return this.caller.send(this.type, this.id, msg, opts);
  }

  tell(msg: unknown, opts?: CallOptions): void {
    this.caller.tell(this.type, this.id, msg, opts);
  }

  toString(): string {
    return `${this.type}/${this.id}`;
  }
}
