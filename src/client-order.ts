import type { RequestEnvelope } from "./codec/envelope.js";

/** Actors a client keeps a sequence for, by default; the least recently called is forgotten first. */
export const DEFAULT_SEQUENCED_ACTORS = 10_000;

/**
 * A client's half of per-sender order: a random sender id and, per actor it calls, the
 * sequence 1, 2, 3… that it stamps on each request (`sender`, `seq`), so the owner applies the
 * client's messages to that actor in the order they were sent, whichever nodes they reach.
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
  private readonly actors = new Map<string, { sender: string; seq: number }>();

  constructor(private readonly max = DEFAULT_SEQUENCED_ACTORS) {
    this.base = randomHex(12);
    this.sender = this.base;
  }

  /** Sets `body.sender` and the next `body.seq` for its actor. */
  stamp(body: RequestEnvelope): void {
    const key = `${body.type}\0${body.id}`;
    let entry = this.actors.get(key);
    if (entry === undefined) {
      if (this.actors.size >= this.max) this.forgetOldest();
      entry = { sender: this.sender, seq: 0 };
    } else {
      this.actors.delete(key); // re-inserted below: most recently used last
    }
    entry.seq++;
    this.actors.set(key, entry);
    body.sender = entry.sender;
    body.seq = entry.seq;
  }

  private forgetOldest(): void {
    const oldest = this.actors.keys().next();
    if (!oldest.done) this.actors.delete(oldest.value);
    this.generation++;
    this.sender = `${this.base}.${this.generation}`;
  }
}

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
