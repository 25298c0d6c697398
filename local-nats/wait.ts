/** Polling for a condition, the only way local-nats and the test kit wait for distributed state. */

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this many ms (default 10 000). */
  timeout?: number;
  /** Pause between polls in ms (default 25). */
  interval?: number;
  /** What did not happen; the timeout error's message. */
  message?: string;
}

/**
 * Polls `cond` until it returns true. A throwing `cond` counts as false; on timeout the
 * error names `message` and carries the last thrown error as `cause`.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  { timeout = 10_000, interval = 25, message = "condition not met" }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor timed out after ${timeout} ms: ${message}`, last === undefined ? {} : { cause: last });
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** `p`, or "timeout" if it takes longer than `ms`. */
export async function bounded<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
