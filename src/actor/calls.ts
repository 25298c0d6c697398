import { checkActorTypeName } from "./names.js";

/**
 * The types that let a reference follow an actor's protocol: each message an actor type accepts,
 * paired with the reply it answers. Type-level only; nothing here exists at run time.
 */

/** One kind of message an actor type accepts (`msg`) and the reply it answers to it (`reply`). */
export interface Call<M = unknown, R = unknown> {
  /** The message's type, as `validate` returns it. */
  readonly msg: M;
  /** The type of the reply `ask` resolves to for that message. */
  readonly reply: R;
}

/**
 * Anything a reference can be made for: an actor type's name, and (as a type only) the calls it
 * accepts. Every actor definition is one; {@link actorType} makes one from a name alone, for
 * callers that should not import an actor's implementation.
 */
export interface ActorType<C = Call> {
  /** The actor type's name, as registered on the nodes. */
  readonly type: string;
  /** Type-level only: never set at run time. */
  readonly "~calls"?: C;
  /** True on a singleton's definition (`defineSingleton`): the type has one actor, whose id is the type's name. */
  readonly singleton?: true;
}

/** The calls of an actor type (a union of {@link Call}s). */
export type CallsOf<A> = A extends ActorType<infer C> ? C : never;

/** Every message an actor type accepts. */
export type MessageOf<A> = CallsOf<A> extends Call<infer M, unknown> ? M : never;

/**
 * The reply to message `M` under the calls `C`: the reply of every call whose message `M` fits.
 * For a message map (`{deposit: …}`) or a discriminated union, that is exactly one call, so the
 * reply follows the message; a message typed as the whole union gets the union of replies.
 */
export type ReplyFor<C, M> = C extends Call<infer CM, infer CR> ? (M extends CM ? CR : never) : never;

/** The reply an actor type gives to `M` (by default, to any of its messages). */
export type ReplyOf<A, M = MessageOf<A>> = ReplyFor<CallsOf<A>, M>;

/**
 * An actor type known by name and by type only, for a caller that must not import the actor's
 * code (a client in another package, a browser bundle):
 *
 * ```ts
 * import type { account } from "./actors/account.js";
 * const Account = actorType<typeof account>("account");
 * await client.ref(Account, "alice").ask({ balance: {} });
 * ```
 */
export function actorType<A extends ActorType>(type: string): ActorType<CallsOf<A>> {
  return { type: checkActorTypeName(type) };
}
