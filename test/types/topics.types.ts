/**
 * Type-level checks of topics, compiled by `npm run typecheck` (never run): a subscriber names
 * one of its own messages whose payload accepts the topic's messages, and publications are typed
 * by their topic. Each `@ts-expect-error` must meet an error.
 */
import { defineActor, defineTopic, type ShoalClient, type TopicMessage } from "../../src/index.js";
import type { Runtime, ShoalNode } from "../../cluster/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

interface Price {
  symbol: string;
  cents: number;
}
const checkPrice = (x: unknown): Price => x as Price;
const prices = defineTopic({ name: "prices", group: "market", validate: checkPrice });
const names = defineTopic({ name: "names", validate: (x: unknown) => String(x) });
assertType<Equal<TopicMessage<typeof prices>, Price>>();

export const watcher = defineActor({
  type: "watcher",
  initialState: () => ({ last: 0 }),
  evolve: (_s, e: { cents: number }) => ({ last: e.cents }),
  messages: {
    price: { validate: checkPrice, handle: (_s, p) => ({ events: [{ cents: p.cents }], reply: null }) },
    rename: { validate: (x: unknown) => String(x), handle: () => ({ reply: null }) },
    watch: {
      validate: () => ({}),
      handle: (_s, _p, ctx) => {
        ctx.topics.subscribe(prices, "price");
        ctx.topics.subscribe(names, "rename");
        // @ts-expect-error `rename` takes strings, not prices
        ctx.topics.subscribe(prices, "rename");
        // @ts-expect-error the actor has no message `nope`
        ctx.topics.subscribe(prices, "nope");
        // @ts-expect-error a price is none of the actor's messages as it is: `as` is needed
        ctx.topics.subscribe(prices);
        ctx.topics.unsubscribe(prices);
        ctx.topics.publish(prices, { symbol: "ACME", cents: 1 });
        // @ts-expect-error a publication of the wrong type
        ctx.topics.publish(prices, { symbol: "ACME" });
        return { events: [{ cents: 0 }], reply: null };
      },
    },
  },
});

/** A single-form actor whose message is a price as it is: `as` may be left out. */
export const raw = defineActor({
  type: "raw",
  initialState: () => 0,
  evolve: (s: number) => s + 1,
  validate: checkPrice,
  handle: (_s, _m, ctx) => {
    ctx.topics.subscribe(prices);
    return { events: [1], reply: null };
  },
});

declare const client: ShoalClient;
declare const node: ShoalNode;
declare const runtime: Runtime;
for (const caller of [client, node, runtime]) {
  assertType<Equal<ReturnType<typeof caller.topics.publish<Price>>, Promise<void>>>();
  void caller.topics.publish(prices, { symbol: "ACME", cents: 1 });
  // @ts-expect-error a publication of the wrong type
  void caller.topics.publish(prices, "ACME");
  void caller.topics.subscribers(prices).then((s) => s.map((x) => `${x.type}/${x.id}:${x.as ?? ""}`));
}
