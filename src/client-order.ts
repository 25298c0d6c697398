import type { RequestEnvelope } from "./codec/envelope.js";

/** Actors a client keeps a sequence for, by default; the least recently called is forgotten first. */
export const DEFAULT_SEQUENCED_ACTORS = 10_000;

/** Beyond its timeout, how long a message may still be on its way to its turn (the client→node hop). */
const MARGIN_MS = 1000;

/** Messages sent within this long of each other share one expiry checkpoint. */
const CHECKPOINT_MS = 100;

/**
 * A client's half of per-sender order: a random sender id and, per actor it calls, the
 * sequence 1, 2, 3… that it stamps on each request (`sender`, `seq`), so the owner applies the
 * client's messages to that actor in the order they were sent, whichever nodes they reach.
 *
 * Each request also says up to which number the earlier ones are `settled`: past their timeout
 * (plus a margin), when none of them can still reach a turn. An owner that lost its table (a
 * failover, a passivation) or misses a message that failed before its turn then waits for none
 * of those. Expiry is tracked in checkpoints (one per 100 ms of sending), so a busy actor costs
 * at most ~(timeout + 1 s) / 100 ms entries.
 *
 * Bounded: past `max` actors the least recently called one is forgotten. A forgotten actor must
 * not be numbered from 1 again under the same sender (its owner may remember a higher number and
 * would refuse the restart as late), so every forgetting moves the client on to a fresh sender
 * id for the actors it numbers from then on; actors it still remembers keep theirs.
 */
export class SenderSequences {
  private readonly base: string;
  private generation = 0;
  private sender: string;
  private readonly actors = new Map<string, ActorSequence>();

  constructor(
    private readonly max = DEFAULT_SEQUENCED_ACTORS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.base = randomHex(12);
    this.sender = this.base;
  }

  /**
   * Sets `body.sender`, the next `body.seq` for its actor and, when some are, `body.settled`.
   * `timeoutMs`: how long the message may wait for its turn (its `timeoutMs`).
   */
  stamp(body: RequestEnvelope, timeoutMs: number): void {
    const key = `${body.type}\0${body.id}`;
    let a = this.actors.get(key);
    if (a === undefined) {
      if (this.actors.size >= this.max) this.forgetOldest();
      a = { sender: this.sender, last: 0, settled: 0, live: [] };
    } else {
      this.actors.delete(key); // re-inserted below: most recently used last
    }
    this.actors.set(key, a);
    const now = this.now();
    while (a.live.length > 0 && a.live[0]!.until <= now) a.settled = a.live.shift()!.upTo;
    const seq = ++a.last;
    const until = now + timeoutMs + MARGIN_MS;
    const newest = a.live.at(-1);
    if (newest !== undefined && now - newest.since < CHECKPOINT_MS) {
      newest.upTo = seq;
      newest.until = Math.max(newest.until, until);
    } else {
      a.live.push({ upTo: seq, until, since: now });
    }
    body.sender = a.sender;
    body.seq = seq;
    if (a.settled > 0) body.settled = a.settled;
  }

  private forgetOldest(): void {
    const oldest = this.actors.keys().next();
    if (!oldest.done) this.actors.delete(oldest.value);
    this.generation++;
    this.sender = `${this.base}.${this.generation}`;
  }
}

/** One actor's numbering: the last seq given, the highest settled, and checkpoints of what may still arrive. */
interface ActorSequence {
  sender: string;
  last: number;
  settled: number;
  /** Oldest first: every message up to `upTo` can no longer reach a turn after `until`. */
  live: Array<{ upTo: number; until: number; since: number }>;
}

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
