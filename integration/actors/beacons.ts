/**
 * Actor types for the keep-alive and singleton tests, loaded by `shoal node --actors` processes
 * (compiled to dist/integration/actors/beacons.js). Every type journals its own life: a `hello`
 * event from each activation that ran `onActivate` (a fresh `act`, its node and the time), then
 * the `tick`s of the timer that activation started — so the journal alone tells which
 * activation ran each turn, and the tests need send the actors nothing to learn it.
 */
import { randomUUID } from "node:crypto";
import { defineActor } from "../../src/actor/define.js";
import { defineSingleton } from "../../src/actor/singleton.js";
import type { TurnContext } from "../../src/actor/spec.js";
import { BadRequestError } from "../../src/errors.js";

/** What the journals hold. */
export type LifeEvent =
  | { k: "hello"; act: string; node: string; at: number }
  | { k: "tick"; act: string; node: string; at: number }
  | { k: "armed"; every: number };

interface Life {
  hellos: number;
  ticks: number;
  /** The tick period once armed (ms); 0: idle. */
  every: number;
}

const evolve = (s: Life, e: LifeEvent): Life =>
  e.k === "hello" ? { ...s, hellos: s.hellos + 1 } : e.k === "tick" ? { ...s, ticks: s.ticks + 1 } : { ...s, every: e.every };

const withAct = (p: unknown): { act: string } => {
  if (typeof p !== "object" || p === null || typeof (p as { act?: unknown }).act !== "string") throw new BadRequestError("needs an act");
  return { act: (p as { act: string }).act };
};

const event = (k: "hello" | "tick", act: string, ctx: TurnContext): LifeEvent => ({ k, act, node: ctx.node, at: ctx.now });

/** A new act: says hello at once, and ticks every `every` ms (0: never). Replacing the timers drops the old act's ticks. */
function begin(ctx: TurnContext, every: number): void {
  const act = `${ctx.node}/${randomUUID().slice(0, 8)}`;
  ctx.timers.start("hello", 0, { hello: { act } });
  if (every > 0) ctx.timers.start("tick", { every }, { tick: { act } });
}

/** What both test types accept: their own hello and tick, `read`, and `arm` (start ticking every `every` ms). */
const messages = {
  hello: { validate: withAct, handle: (_s: Readonly<Life>, p: { act: string }, ctx: TurnContext) => ({ events: [event("hello", p.act, ctx)], reply: null }) },
  tick: { validate: withAct, handle: (_s: Readonly<Life>, p: { act: string }, ctx: TurnContext) => ({ events: [event("tick", p.act, ctx)], reply: null }) },
  read: { validate: () => ({}), handle: (s: Readonly<Life>, _p: object, ctx: TurnContext) => ({ reply: { ...s, node: ctx.node } }) },
  arm: {
    validate: (p: unknown) => ({ every: Math.max(10, Number((p as { every?: unknown })?.every) || 100) }),
    handle: (_s: Readonly<Life>, p: { every: number }, ctx: TurnContext) => {
      begin(ctx, p.every);
      return { events: [{ k: "armed" as const, every: p.every }], reply: null };
    },
  },
};

const initialState = (): Life => ({ hellos: 0, ticks: 0, every: 0 });
const onActivate = (s: Readonly<Life>, ctx: TurnContext): void => begin(ctx, s.every);

/** A keep-alive type: activated and armed by a message (`{"arm": {"every": ms}}`), it ticks wherever it runs next. */
export const pulse = defineActor({
  type: "pulse",
  keepAlive: true,
  snapshotEvery: 0,
  initialState,
  evolve,
  messages: {
    ...messages,
    stop: {
      validate: () => ({}),
      handle: (_s: Readonly<Life>, _p: object, ctx: TurnContext) => {
        ctx.stop();
        return { reply: null };
      },
    },
  },
  onActivate,
});

/** How many beacon singletons the nodes host: a test picks one its leader runs (each idles until armed). */
export const BEACONS = 24;

/** The beacon singletons, `beacon-00` … `beacon-23`. */
export const beacons = Array.from({ length: BEACONS }, (_, i) =>
  defineSingleton(defineActor({ type: `beacon-${String(i).padStart(2, "0")}`, snapshotEvery: 0, initialState, evolve, messages, onActivate })),
);
