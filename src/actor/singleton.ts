import { BadRequestError } from "../errors.js";
import type { ActorDefinition } from "./spec.js";

/** A singleton's definition: an actor type with one actor, kept alive, whose id is the type's name. */
export type Singleton<A extends ActorDefinition = ActorDefinition> = A & {
  /** Marks the type as a singleton. */
  readonly singleton: true;
  /** A singleton is always a keep-alive type. */
  readonly keepAlive: true;
};

/**
 * Makes an actor type a cluster singleton: exactly one actor of the type runs in the cluster,
 * started without a message (running its `onActivate`, where it usually starts its
 * `ctx.timers`) by the node that owns its shard — when the cluster starts, after
 * the shard moves and after that node crashes. Its id is the type's name; a reference needs no id
 * (`node.ref(scheduler)`, or `ref(actorType<typeof scheduler>("scheduler"), "scheduler")` from a
 * caller without its code). It is placed, fenced and recovered like any actor: its turns run only
 * on its shard's owner, and an event-sourced singleton's appends carry the expected version, so a
 * node that lost it cannot write for it.
 *
 * ```ts
 * export const scheduler = defineSingleton(
 *   defineActor({
 *     type: "scheduler",
 *     initialState: () => ({ runs: 0 }),
 *     evolve: (s, _e: { ran: true }) => ({ runs: s.runs + 1 }),
 *     messages: {
 *       run: { validate: () => ({}), handle: () => ({ events: [{ ran: true as const }], reply: null }) },
 *       runs: { validate: () => ({}), handle: (s) => ({ reply: s.runs }) },
 *     },
 *     onActivate: (_s, ctx) => ctx.timers.start("run", { every: 60_000 }, { run: {} }),
 *   }),
 * );
 * ```
 *
 * Takes a definition of either kind (`defineActor`, `defineInMemoryActor`); a TypeError for
 * anything else, or for a definition that sets `passivateAfter`. Calling `ctx.stop()` in a
 * singleton throws a TypeError.
 */
export function defineSingleton<A extends ActorDefinition>(def: A): Singleton<A> {
  if (typeof def !== "object" || def === null || (def.kind !== "event-sourced" && def.kind !== "in-memory")) {
    throw new TypeError("defineSingleton takes an actor definition (from defineActor or defineInMemoryActor)");
  }
  if (def.passivateAfter !== undefined) throw new TypeError(`singleton ${def.type} must not set passivateAfter: it is kept alive`);
  return Object.freeze({ ...def, keepAlive: true, singleton: true }) as unknown as Singleton<A>;
}

/** The one id of a singleton type: its name. */
export function singletonId(type: string): string {
  return type;
}

/** Refuses, with BAD_REQUEST, an id other than a singleton type's own (a second actor of a singleton type). */
export function checkSingletonId(def: { readonly type: string; readonly singleton?: true }, id: string): void {
  if (def.singleton === true && id !== def.type) {
    throw new BadRequestError(`${def.type} is a singleton: its one actor's id is ${JSON.stringify(def.type)}`, {
      details: { field: "id", type: def.type },
    });
  }
}
