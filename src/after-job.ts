/**
 * Runs `fn` once the current job and every promise reaction it set off have run — no timer.
 *
 * A microtask that queues a `process.nextTick`: Node runs ticks only after V8 has drained the
 * whole microtask queue, including reactions queued while draining. So a flush scheduled here
 * sees everything the current event (a socket read, a batch of replies resolving 128 awaiting
 * callers) produced, and still runs before the event loop moves on to any I/O or timer. That is
 * the bound the coalescer below relies on: a message waits for the rest of its own job, never
 * for time.
 */
export function afterJob(fn: () => void): void {
  queueMicrotask(() => process.nextTick(fn));
}
