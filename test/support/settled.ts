/** Polls `check` (a few hundred event-loop turns at most): messages between actors settle after the caller's answer. */
export async function settled(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error("condition not reached");
}
