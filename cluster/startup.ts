import type { Clock } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import type { Logger } from "../src/log.js";

/**
 * Retries a step of joining a cluster while the failure is NATS not being ready (a fresh
 * JetStream cluster electing its meta leader, buckets and streams being created by several
 * nodes at once): timeouts, no responders, "stream not found" while another node creates it.
 * Configuration errors (BAD_REQUEST, e.g. a wrong shard count; RangeError) fail at once.
 */
export async function retryStartup<T>(what: string, op: () => Promise<T>, opts: { clock: Clock; log: Logger; deadlineMs?: number }): Promise<T> {
  const deadline = opts.clock.now() + (opts.deadlineMs ?? 30_000);
  for (let attempt = 1, pause = 100; ; attempt++, pause = Math.min(2000, pause * 2)) {
    try {
      return await op();
    } catch (err) {
      const permanent = err instanceof RangeError || ShoalError.is(err, ErrorCode.BAD_REQUEST) || ShoalError.is(err, ErrorCode.UNKNOWN_ACTOR_TYPE);
      if (permanent || opts.clock.now() + pause > deadline) throw err;
      opts.log.warn({ err: (err as Error)?.message ?? String(err), attempt, what }, "joining: NATS not ready yet, retrying");
      await new Promise<void>((resolve) => opts.clock.setTimeout(resolve, pause));
    }
  }
}
