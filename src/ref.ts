import type { ActorType, MessageOf, ReplyOf } from "./actor/calls.js";
import { checkActorId, checkActorTypeName } from "./actor/names.js";
import { checkSingletonId, singletonId } from "./actor/singleton.js";
import type { SenderSeq } from "./codec/envelope.js";
import { BadRequestError } from "./errors.js";
import type { From } from "./runtime/outgoing.js";

/** Options of one call through a reference. */
export interface CallOptions {
  /** Milliseconds until the call fails with TIMEOUT (default: the caller's default, 10 s). */
  timeout?: number;
}

/**
 * What a `tell` does when its sender already has as many tells on their way as its bound allows
 * (a node's `tellBound` per lane, a client's `tellBound`): `"wait"` until one of them is done, or
 * `"fail"` at once with OVERLOADED (thrown by `tell`; nothing is sent).
 */
export type OnFull = "wait" | "fail";

/** Options of one `tell` through a reference. */
export interface TellOptions extends CallOptions {
  /** Past the sender's bound on tells on their way: wait (the default of a node or client) or fail. */
  onFull?: OnFull;
}

/**
 * One actor, addressed by type and id, typed by its definition. The same reference works in one
 * process (the `Runtime` of `shoal/node`, or `testRuntime`), on a cluster node (`ShoalNode`) and
 * from a client outside the cluster ({@link ShoalClient}); it holds no connection of its own and
 * costs nothing to make.
 *
 * - `ask` answers the actor's reply to this message (its type follows the message).
 * - `send` resolves once the turn has been applied, without the reply.
 * - `tell` is fire-and-forget: no reply, and a failure reaches no caller (nodes count it in
 *   `shoal_tells_failed_total`). Its promise only says when the sender took it: awaiting it
 *   throttles a producer to what the actors keep up with.
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
   * Fire-and-forget: neither the outcome nor an error comes back (`opts.timeout` still bounds how
   * long the message may wait for its turn). The promise resolves once the sender has taken the
   * message: at once while its tells on their way are under its bound, else when one of them is
   * done (a node: `tellBound` per lane, tells counted until their turns have run; a client:
   * `tellBound`, tells counted until a node has taken them; a `Runtime` on its own has no bound).
   * Awaiting it therefore throttles a producer; ignoring it is fine — it never rejects (later
   * failures are counted where they happen). With `opts.onFull: "fail"` a tell past the bound
   * throws OVERLOADED at once instead, and nothing is sent. Throws BAD_REQUEST at once for an
   * `onFull` that is neither.
   */
  tell(msg: MessageOf<A>, opts?: TellOptions): Promise<void>;
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
  /** Never rejects; throws OVERLOADED (past the bound with `onFull: "fail"`) or BAD_REQUEST at once. */
  tell(type: string, id: string, msg: unknown, opts?: DeliveryOptions & TellOptions): Promise<void>;
}

/** What a tell taken at once returns: one settled promise for all of them, so the common case allocates nothing. @internal */
export const TAKEN: Promise<void> = Promise.resolve();

/** The default bound on tells on their way, per node lane and per client: one actor's default mailbox. @internal */
export const DEFAULT_TELL_BOUND = 1000;

/**
 * A caller's bound on tells on their way and its default `onFull`, with their defaults (1000,
 * "wait"); a RangeError for a bound that is not a positive integer or a policy that is neither.
 * @internal
 */
export function tellLimits(bound: number | undefined, onFull: OnFull | undefined): { bound: number; onFull: OnFull } {
  const b = bound ?? DEFAULT_TELL_BOUND;
  if (!Number.isInteger(b) || b < 1) throw new RangeError(`tellBound must be a positive integer, got ${String(bound)}`);
  const f = onFull ?? "wait";
  if (f !== "wait" && f !== "fail") throw new RangeError(`tellOnFull must be "wait" or "fail", got ${String(onFull)}`);
  return { bound: b, onFull: f };
}

/** The `onFull` of a tell's options, checked (BAD_REQUEST for anything but the two); `fallback` when not given. @internal */
export function onFullOf(opts: TellOptions | undefined, fallback: OnFull): OnFull {
  const v = opts?.onFull;
  if (v === undefined) return fallback;
  if (v !== "wait" && v !== "fail") throw new BadRequestError(`onFull must be "wait" or "fail", got ${JSON.stringify(String(v)).slice(0, 40)}`);
  return v;
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

  tell(msg: unknown, opts?: TellOptions): Promise<void> {
    return this.caller.tell(this.type, this.id, msg, opts);
  }

  toString(): string {
    return `${this.type}/${this.id}`;
  }
}
