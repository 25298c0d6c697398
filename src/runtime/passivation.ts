import type { Activation } from "./activation.js";

/**
 * The activations the passivation sweep drops now: idle for their type's `passivateAfter` (in-memory
 * types only when they set one, their state would be lost), with no turn running, nothing queued,
 * not paused, no timer set (a timer keeps its activation alive, as in Orleans), and no outgoing
 * message waiting for its receiver. A keep-alive type's activations (singletons too) are never
 * dropped.
 */
export function idleActivations(activations: Iterable<Activation>, now: number, defaultAfter: number): Activation[] {
  const idle: Activation[] = [];
  for (const a of activations) {
    const def = a.behavior.def;
    if (def.keepAlive === true) continue;
    const after = def.passivateAfter ?? (def.kind === "in-memory" ? Number.POSITIVE_INFINITY : defaultAfter);
    if (a.busy || a.paused || a.queued > 0 || a.timerCount > 0 || a.outgoing > 0 || now - a.lastActive < after) continue;
    idle.push(a);
  }
  return idle;
}
