import type { Clock } from "../../src/clock.js";
import type { FailurePolicy, ProjectedEvent, ProjectionContext } from "../../src/projection/spec.js";
import type { ViewStage } from "./view-stage.js";

/** How handling one event ended after its retries. */
export type Attempted = { ok: true } | { ok: false; error: string; attempts: number };

/** Thrown out of a retry pause when the partition is stopping. */
export class Stopping extends Error {
  override name = "Stopping";
}

/** The pause before retry `n` (1-based): `backoff · 2^(n−1)`, at most `maxBackoff`. */
export function backoffMs(policy: Required<FailurePolicy>, n: number): number {
  return Math.min(policy.maxBackoff, policy.backoff * 2 ** Math.min(n - 1, 30));
}

/**
 * Runs a handler on one event, and again after each pause of the policy while it throws. The
 * writes of a run that threw are dropped; those of the run that returned are kept in `stage`.
 */
export async function attempt<E, V>(
  handle: (e: ProjectedEvent<E>, ctx: ProjectionContext<V>) => void | Promise<void>,
  event: ProjectedEvent<E>,
  ctx: ProjectionContext<V>,
  stage: ViewStage<V>,
  policy: Required<FailurePolicy>,
  clock: Clock,
  stopping: () => boolean,
): Promise<Attempted> {
  let error = "";
  for (let n = 0; n <= policy.retries; n++) {
    if (n > 0) {
      await pause(clock, backoffMs(policy, n));
      if (stopping()) throw new Stopping("stopping");
    }
    try {
      await handle(event, ctx);
      stage.keep();
      return { ok: true };
    } catch (err) {
      stage.drop();
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
  }
  return { ok: false, error, attempts: policy.retries + 1 };
}

export function pause(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
