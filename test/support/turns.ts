/**
 * Lets `n` turns of the event loop run (one `setImmediate` each): the promise reactions, in-memory
 * KV replies and watch deliveries that the previous turn set off. Never waits for real time, so
 * tests on a a manual clock stay exact; more turns reach further down a chain of replies.
 */
export async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
