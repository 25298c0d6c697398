/**
 * Where the outcome of one message goes: exactly one of the two is called, once, and neither
 * throws. Passed down instead of a promise on the paths a message takes through a node, where
 * thousands are in flight and a promise per layer is garbage per message.
 */
export interface ReplyTo {
  ok(reply: unknown): void;
  fail(err: unknown): void;
}

/** Sends the outcome of `answer` to `to` (for the paths that still produce a promise). */
export function settleWith(answer: Promise<unknown>, to: ReplyTo): void {
  answer.then(
    (reply) => to.ok(reply),
    (err: unknown) => to.fail(err),
  );
}
