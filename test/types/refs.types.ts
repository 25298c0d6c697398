/**
 * Type-level checks of references, compiled by `npm run typecheck` (never run): each
 * `@ts-expect-error` must meet an error, or the check fails, so a change that loosened the
 * types (a reply widened to `unknown`, a payload to `any`) breaks the build.
 */
import {
  type ActorRef,
  actorType,
  type ActorType,
  defineActor,
  defineInMemoryActor,
  defineSingleton,
  type MessageOf,
  type ReplyOf,
  type ShoalClient,
} from "../../src/index.js";
import { account, type AccountReply, type MovementReply } from "../../src/actors/account.js";
import type { ShoalNode } from "../../cluster/index.js";
import type { Runtime } from "../../cluster/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

declare const client: ShoalClient;
declare const node: ShoalNode;
declare const runtime: Runtime;

// The reply follows the message, on every kind of caller.
for (const caller of [client, node, runtime]) {
  const alice = caller.ref(account, "alice");
  const deposited = alice.ask({ deposit: { amount: 5, txn: "t" } });
  const balance = alice.ask({ balance: {} });
  assertType<Equal<typeof deposited, Promise<MovementReply>>>();
  assertType<Equal<typeof balance, Promise<AccountReply>>>();
  assertType<Equal<ReturnType<typeof alice.send>, Promise<void>>>();
  // A tell's promise says when the sender took it, never what the actor did.
  assertType<Equal<ReturnType<typeof alice.tell>, Promise<void>>>();
  alice.tell({ balance: {} }, { onFull: "fail", timeout: 100 });
  // @ts-expect-error past the bound a tell waits or fails, nothing else
  alice.tell({ balance: {} }, { onFull: "drop" });
  // @ts-expect-error an unknown message name
  alice.ask({ steal: {} });
  // @ts-expect-error a payload of the wrong type
  alice.ask({ deposit: { amount: "5", txn: "t" } });
  // @ts-expect-error a payload missing a field
  alice.send({ withdraw: { amount: 5 } });
  // @ts-expect-error a tell has no reply to read
  void alice.tell({ balance: {} }).then((r) => r.balance);
}

// A message typed as the whole union gets the union of replies.
declare const any: MessageOf<typeof account>;
assertType<Equal<Awaited<ReturnType<ReturnType<ShoalClient["ref"]>["ask"]>>, unknown>>();
const either = client.ref(account, "a").ask(any);
assertType<Equal<typeof either, Promise<AccountReply | MovementReply>>>();

// Handlers see typed state and payloads; events must be the evolve's.
defineActor({
  type: "typed",
  initialState: () => ({ n: 0 }),
  messages: {
    add: {
      validate: (p: unknown) => p as { by: number },
      // @ts-expect-error the payload has no such field
      handle: (s, p) => ({ events: [{ added: p.nope }], reply: s.n }),
    },
  },
  evolve: (s, e: { added: number }) => ({ n: s.n + e.added }),
});
// @ts-expect-error an event the evolve does not take (reported on the call: no overload matches)
defineActor({
  type: "typed",
  initialState: () => ({ n: 0 }),
  messages: {
    add: {
      validate: (p: unknown) => p as { by: number },
      handle: (s, p) => ({ events: [{ removed: p.by }], reply: s.n }),
    },
  },
  evolve: (s, e: { added: number }) => ({ n: s.n + e.added }),
});
const notes = defineInMemoryActor({
  type: "notes",
  initialState: (): string[] => [],
  messages: {
    // A validate's input is annotated (`unknown`): unannotated, TypeScript infers the payload as unknown.
    add: { validate: (p: unknown) => String(p), handle: (s, text) => ({ state: [...s, text], reply: s.length }) },
    // @ts-expect-error the state has no such field
    bad: { validate: () => 1, handle: (s) => ({ state: s, reply: s.nope }) },
  },
  serialize: (s) => s,
  deserialize: (d) => d as string[],
});
void notes;

// One handler for every message: one reply type for all.
const single = defineActor<{ n: number }, { add: number } | { get: true }, number, number>({
  type: "single",
  initialState: () => ({ n: 0 }),
  validate: (m) => m as { add: number },
  handle: (s) => ({ reply: s.n }),
  evolve: (s, e) => ({ n: s.n + e }),
});
const one = node.ref(single, "s").ask({ get: true });
assertType<Equal<typeof one, Promise<number>>>();
assertType<Equal<ReplyOf<typeof single>, number>>();

// A type known by name only (no import of the actor's code) is as typed as its definition.
const Account: ActorType = actorType<typeof account>("account");
const viaName = client.ref(actorType<typeof account>("account"), "a").ask({ balance: {} });
assertType<Equal<typeof viaName, Promise<AccountReply>>>();
// Untyped by name: anything goes, the reply is unknown.
const loose = client.ref(actorType("account"), "a").ask({ whatever: 1 });
assertType<Equal<typeof loose, Promise<unknown>>>();
void Account;

// A timer's message is one of the actor's own messages, in both forms and in onActivate.
defineActor({
  type: "clocked",
  initialState: () => ({ n: 0 }),
  evolve: (s, e: number) => ({ n: s.n + e }),
  messages: {
    tick: { validate: (p: unknown) => p as { by: number }, handle: (_s, p) => ({ events: [p.by], reply: null }) },
    arm: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.timers.start("t", 1000, { tick: { by: 1 } });
        ctx.timers.start("p", { every: 1000, after: 10 }, { arm: {} });
        // @ts-expect-error not a message of this actor
        ctx.timers.start("t", 1000, { tock: {} });
        // @ts-expect-error a payload of the wrong type
        ctx.timers.start("t", 1000, { tick: { by: "1" } });
        return { reply: ctx.timers.isSet("t") };
      },
    },
  },
  onActivate(state, ctx) {
    ctx.timers.start("t", state.n, { tick: { by: 1 } });
    // @ts-expect-error not a message of this actor
    ctx.timers.start("t", 1, { nope: {} });
  },
  onPassivate(_state, ctx) {
    // @ts-expect-error a passivating actor has no timers
    void ctx.timers;
  },
});
defineInMemoryActor<number, { add: number }, number>({
  type: "clocked-single",
  initialState: () => 0,
  validate: (m) => m as { add: number },
  handle: (s, m, ctx) => {
    ctx.timers.start("again", 10, { add: m.add });
    // @ts-expect-error not a message of this actor
    ctx.timers.start("again", 10, { sub: 1 });
    return { state: s + m.add, reply: s };
  },
  serialize: (s) => s,
  deserialize: (d) => d as number,
});

// A singleton's reference needs no id (its one id is its name); every other type's does.
const bank = defineSingleton(account);
for (const caller of [client, node, runtime]) {
  const b = caller.ref(bank);
  const named = caller.ref(bank, "account");
  assertType<Equal<typeof b, ActorRef<typeof bank>>>();
  assertType<Equal<typeof named, ActorRef<typeof bank>>>();
  const balance = b.ask({ balance: {} });
  assertType<Equal<typeof balance, Promise<AccountReply>>>();
  // @ts-expect-error an actor type that is not a singleton needs an id
  caller.ref(account);
  // @ts-expect-error a type known by name only is not known to be a singleton
  caller.ref(actorType<typeof bank>("account"));
}
// @ts-expect-error defineSingleton takes a definition, not a spec
defineSingleton({ type: "x", initialState: () => 0 });
// A keep-alive type stops itself from a turn; onPassivate cannot.
defineActor({
  type: "kept",
  keepAlive: true,
  initialState: () => 0,
  evolve: (s: number) => s,
  messages: {
    done: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.stop();
        return { reply: null };
      },
    },
  },
  onPassivate(_state, ctx) {
    // @ts-expect-error a passivating actor cannot stop again
    ctx.stop();
  },
});
