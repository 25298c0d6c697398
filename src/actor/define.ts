import { compileMessageMap } from "./message-map.js";
import { REMINDER_SENDER } from "../reminders/service.js";
import { TOPIC_BROKER } from "../topics/protocol.js";
import { checkActorTypeName, checkRoles } from "./names.js";
import type {
  CommonSpec,
  EventSourcedActor,
  EventSourcedHandler,
  EventSourcedMapSpec,
  EventSourcedSpec,
  HandlerReply,
  InMemoryActor,
  InMemoryHandler,
  InMemoryMapSpec,
  InMemorySpec,
  MailboxOverflow,
  MapCalls,
  MapMessage,
  PayloadMessage,
} from "./spec.js";

const DEFAULT_SNAPSHOT_EVERY = 100;
const OVERFLOWS: readonly MailboxOverflow[] = ["reject", "drop-oldest", "wait"];

let definingBuiltIn = false;

/** Runs `define` with the reserved type names allowed: for Shoal's own actor types. @internal */
export function builtIn<T>(define: () => T): T {
  definingBuiltIn = true;
  try {
    return define();
  } finally {
    definingBuiltIn = false;
  }
}

/**
 * Defines an event-sourced actor type: the event store is the source of truth and the state is
 * the fold of the actor's events (`evolve`).
 *
 * As a message map, each message has its own payload check, handler and reply type, and a
 * reference's `ask` answers the reply of the message it is given:
 *
 * ```ts
 * export const counter = defineActor({
 *   type: "counter",
 *   initialState: () => ({ n: 0 }),
 *   messages: {
 *     add: { validate: (p) => positiveInt(p), handle: (s, by) => ({ events: [{ added: by }], reply: s.n + by }) },
 *     get: { validate: () => ({}), handle: (s) => ({ reply: { n: s.n } }) },
 *   },
 *   evolve: (s, e: { added: number }) => ({ n: s.n + e.added }),
 * });
 * // ref(counter, "c1").ask({ add: 2 }) → Promise<number>; .ask({ get: {} }) → Promise<{ n: number }>
 * ```
 *
 * Or with one `validate` and one `handle` for every message (one reply type for all).
 */
export function defineActor<S, M, R, E>(spec: EventSourcedSpec<S, M, R, E>): EventSourcedActor<S, M, R, E>;
export function defineActor<S, E, P, H>(
  spec: EventSourcedMapSpec<S, E, { [K in keyof P]: EventSourcedHandler<S, NoInfer<E>, P[K], unknown, PayloadMessage<P>> } & H, PayloadMessage<P>>,
): EventSourcedActor<S, MapMessage<H>, HandlerReply<H[keyof H]>, E, MapCalls<H>>;
export function defineActor(spec: EventSourcedSpec<unknown, unknown, unknown, unknown> | EventSourcedMapSpec<unknown, unknown, unknown>): EventSourcedActor {
  const form = singleForm(spec);
  const snapshotEvery = spec.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  if (!Number.isInteger(snapshotEvery) || snapshotEvery < 0) {
    throw new TypeError(`snapshotEvery must be a non-negative integer, got ${snapshotEvery}`);
  }
  if (typeof spec.evolve !== "function") throw new TypeError(`actor type ${spec.type} needs an evolve function`);
  const policy = spec.snapshotPolicy;
  if (policy !== undefined) {
    const flags = ["onPassivate", "onHandoff", "adaptive"];
    const ok =
      typeof policy === "object" &&
      policy !== null &&
      Object.entries(policy).every(([k, v]) => flags.includes(k) && (v === undefined || typeof v === "boolean"));
    if (!ok) throw new TypeError(`snapshotPolicy of actor type ${spec.type} takes only the booleans ${flags.join(", ")}`);
  }
  if ((spec as { reentrant?: unknown }).reentrant !== undefined) {
    throw new TypeError(`actor type ${spec.type}: reentrant is for in-memory types (an event-sourced turn that waits has decided on the state it saw)`);
  }
  return Object.freeze({
    ...spec,
    ...form,
    kind: "event-sourced" as const,
    snapshotEvery,
    snapshot: spec.snapshot ?? { toData: (s: unknown) => s, fromData: (d: unknown) => d },
  }) as EventSourcedActor;
}

/**
 * Defines a plain in-memory actor type: the state lives in memory and moves between nodes by
 * `serialize`/`deserialize`. It is never passivated unless `passivateAfter` is set (its state
 * would be lost). Takes a message map or one `validate`/`handle`, like {@link defineActor}.
 */
export function defineInMemoryActor<S, M, R>(spec: InMemorySpec<S, M, R>): InMemoryActor<S, M, R>;
export function defineInMemoryActor<S, P, H>(
  spec: InMemoryMapSpec<S, { [K in keyof P]: InMemoryHandler<S, P[K], unknown, PayloadMessage<P>> } & H, PayloadMessage<P>>,
): InMemoryActor<S, MapMessage<H>, HandlerReply<H[keyof H]>, MapCalls<H>>;
export function defineInMemoryActor(spec: InMemorySpec<unknown, unknown, unknown> | InMemoryMapSpec<unknown, unknown>): InMemoryActor {
  const form = singleForm(spec);
  if (typeof spec.serialize !== "function" || typeof spec.deserialize !== "function") {
    throw new TypeError(`actor type ${spec.type} needs serialize and deserialize functions`);
  }
  if (spec.reentrant !== undefined && typeof spec.reentrant !== "boolean") throw new TypeError(`reentrant of actor type ${spec.type} must be a boolean`);
  return Object.freeze({ ...spec, ...form, kind: "in-memory" as const }) as InMemoryActor;
}

/** Checks what both kinds share and reduces a message map to the one validate/handle the runtime calls. */
function singleForm(spec: CommonSpec<unknown> & ({ messages: unknown } | { validate: unknown; handle: unknown })): {
  validate: (input: unknown) => unknown;
  handle: (...args: never[]) => unknown;
} {
  checkActorTypeName(spec.type);
  if (spec.type === REMINDER_SENDER) throw new TypeError(`the actor type name ${REMINDER_SENDER} is reserved (reminder firings come from it)`);
  if (spec.type === TOPIC_BROKER && !definingBuiltIn) throw new TypeError(`the actor type name ${TOPIC_BROKER} is reserved (topic groups' brokers)`);
  for (const [name, v] of [
    ["passivateAfter", spec.passivateAfter],
    ["mailboxCapacity", spec.mailboxCapacity],
  ] as const) {
    if (v !== undefined && !(typeof v === "number" && v > 0)) {
      throw new TypeError(`${name} of actor type ${spec.type} must be a positive number`);
    }
  }
  if (spec.overflow !== undefined && !OVERFLOWS.includes(spec.overflow)) {
    throw new TypeError(`overflow of actor type ${spec.type} must be one of ${OVERFLOWS.join(", ")}`);
  }
  if (spec.keepAlive !== undefined && typeof spec.keepAlive !== "boolean") throw new TypeError(`keepAlive of actor type ${spec.type} must be a boolean`);
  if (spec.prewarm !== undefined && typeof spec.prewarm !== "boolean") throw new TypeError(`prewarm of actor type ${spec.type} must be a boolean`);
  if (spec.prewarm === true && spec.keepAlive === true)
    throw new TypeError(`actor type ${spec.type} is kept alive, which restarts its actors already: it must not set prewarm`);
  if (spec.keepAlive === true && spec.passivateAfter !== undefined) {
    throw new TypeError(`actor type ${spec.type} is kept alive: it must not set passivateAfter`);
  }
  if (spec.roles !== undefined) checkRoles(spec.roles, `roles of actor type ${spec.type}`);
  if (spec.tenant !== undefined && typeof spec.tenant !== "function") throw new TypeError(`tenant of actor type ${spec.type} must be a function of the id`);
  if (typeof spec.initialState !== "function") throw new TypeError(`actor type ${spec.type} needs an initialState function`);
  for (const hook of ["onActivate", "onPassivate"] as const) {
    const h = (spec as unknown as Record<string, unknown>)[hook];
    if (h !== undefined && typeof h !== "function") throw new TypeError(`${hook} of actor type ${spec.type} must be a function`);
  }
  if ("messages" in spec) {
    // A definition spread into a new one ({ ...account, snapshotEvery: 3 }) carries its compiled pair: compile again.
    if (!("kind" in spec) && ("validate" in spec || "handle" in spec))
      throw new TypeError(`actor type ${spec.type} has messages and a validate/handle of its own: give one or the other`);
    return compileMessageMap(spec.type, spec.messages);
  }
  if (typeof spec.validate !== "function" || typeof spec.handle !== "function") {
    throw new TypeError(`actor type ${spec.type} needs validate and handle functions, or messages`);
  }
  return { validate: spec.validate as (input: unknown) => unknown, handle: spec.handle as (...args: never[]) => unknown };
}
