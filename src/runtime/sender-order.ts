/**
 * Per-sender order on one actor: the owner's half of the ingress contract's `sender`/`seq`.
 *
 * A client numbers its messages to each actor 1, 2, 3… under a sender id of its own. Those
 * messages may reach the owner by different paths (two ingress nodes, a forward from a stale
 * owner, a migration's tail), so they can arrive out of order. Per actor activation this table
 * keeps, for each sender, the next sequence number it expects, and decides for every message
 * as its turn comes up:
 *
 * - `run`: it is the expected one. Its turn runs; {@link SenderOrder.applied} moves the
 *   expectation on (and frees the next message if it is already waiting).
 * - `held`: it is early (a gap before it). It waits here until the missing ones have run, or
 *   until its gap timeout passes ({@link SenderOrder.release}): then the lowest waiting message
 *   of that sender runs and the gap is skipped for good.
 * - `late`: a later message of that sender has already run. It is refused (OUT_OF_ORDER) and
 *   changes nothing.
 *
 * A sender never seen is expected to start at 1, so a new client's pipelined first messages are
 * ordered too. A message may also say up to which number all of its sender's earlier ones are
 * `settled` (answered, or past their timeout: none can still arrive); the expectation moves up
 * to the number after that, so a client whose earlier messages are all settled is never kept
 * waiting — after a failover, a passivation, or a message that failed before its turn. Without
 * it, a message with a higher number from an unknown sender waits one gap timeout, then runs.
 *
 * Bounded: at most `maxSenders` senders per actor (the least recently used one without waiting
 * messages is forgotten first) and a sender idle for `forgetAfter` is forgotten. Forgetting is
 * safe once `forgetAfter` exceeds the longest call timeout: no earlier message can still arrive.
 * Pure logic, no timers: the caller passes the time and arms one timer at {@link nextRelease}.
 */
export class SenderOrder<T> {
  private readonly senders = new Map<string, Entry<T>>();
  private readonly ready: Array<Ready<T>> = [];
  /** Held messages a `settled` overtook: the caller refuses them as late. */
  private readonly dropped: T[] = [];
  private waiting = 0;

  constructor(private readonly opts: SenderOrderOptions) {}

  /** Messages held for a gap or released and not yet taken. */
  get size(): number {
    return this.waiting + this.ready.length;
  }

  /** Whether a released message is waiting for {@link takeReady}. */
  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  /** Senders remembered. */
  get senderCount(): number {
    return this.senders.size;
  }

  /** The next sequence number expected from `sender` (1 for one not remembered). */
  expected(sender: string): number {
    return this.senders.get(sender)?.next ?? 1;
  }

  /**
   * Judges message `seq` of `sender` as its turn comes up; `settled`: every message of the sender
   * up to this number is settled (0: nothing known). `held`: kept here (with `item`) until its
   * predecessors have run or until `now + min(gapTimeout, (deadline − now) / 2)`.
   */
  admit(sender: string, seq: number, settled: number, item: T, now: number, deadline: number): Verdict {
    const e = this.touch(sender, now);
    // A held copy of this very number, released by the settle, runs instead: this one is a repeat.
    if (settled >= e.next && settled < seq && this.settle(sender, e, settled)) return seq === e.next ? "late" : this.hold(e, seq, item, now, deadline);
    if (seq === e.next) return "run";
    return this.hold(e, seq, item, now, deadline);
  }

  private hold(e: Entry<T>, seq: number, item: T, now: number, deadline: number): Verdict {
    if (seq < e.next || e.held?.has(seq) === true) return "late";
    e.held ??= new Map();
    e.held.set(seq, { item, releaseAt: now + Math.max(0, Math.min(this.opts.gapTimeout, (deadline - now) / 2)) });
    this.waiting++;
    return "held";
  }

  /**
   * Message `seq` of `sender` has been dealt with (its turn ran, or it failed or expired for
   * good): the sender's next one is expected, and released if it is waiting.
   */
  applied(sender: string, seq: number, now: number): void {
    const e = this.senders.get(sender) ?? this.touch(sender, now);
    e.used = now;
    if (seq < e.next) return;
    e.next = seq + 1;
    this.releaseNext(sender, e);
  }

  /** Held messages that a `settled` showed to be late (the caller refuses them). */
  takeDropped(): T[] {
    return this.dropped.splice(0);
  }

  /** A released message, oldest release first: run it now (it needs no second {@link admit}). */
  takeReady(): Ready<T> | undefined {
    return this.ready.shift();
  }

  /** The earliest time a held message's gap timeout passes (undefined when none is held). */
  nextRelease(): number | undefined {
    let at: number | undefined;
    for (const e of this.senders.values()) {
      if (e.held === undefined) continue;
      for (const h of e.held.values()) if (at === undefined || h.releaseAt < at) at = h.releaseAt;
    }
    return at;
  }

  /**
   * Gives up on the gaps whose timeout has passed: for each such sender the lowest held message
   * becomes the expected one and is released (the ones after it follow as they run).
   */
  release(now: number): void {
    for (const [sender, e] of this.senders) {
      if (e.held === undefined) continue;
      let due = false;
      let lowest = Number.POSITIVE_INFINITY;
      for (const [seq, h] of e.held) {
        if (h.releaseAt <= now) due = true;
        if (seq < lowest) lowest = seq;
      }
      if (!due) continue;
      e.next = lowest;
      this.releaseNext(sender, e);
    }
  }

  /** Every held and released message, for a pause: they are judged again wherever they run next. */
  drain(): T[] {
    const out = this.ready.map((r) => r.item);
    this.ready.length = 0;
    for (const e of this.senders.values()) {
      if (e.held === undefined) continue;
      for (const h of e.held.values()) out.push(h.item);
      e.held = undefined;
    }
    this.waiting = 0;
    return out;
  }

  /** The table, for a handoff: `[sender, next expected]` per sender, least recently used first. */
  export(): OrderEntry[] {
    return [...this.senders].map(([sender, e]) => [sender, e.next]);
  }

  /** Installs a handed-over table (at most `maxSenders` entries, the most recent kept). */
  import(entries: readonly OrderEntry[], now: number): void {
    for (const [sender, next] of entries.slice(-this.opts.maxSenders)) {
      this.senders.delete(sender);
      this.senders.set(sender, { next, used: now, held: undefined });
    }
  }

  /** The sender's entry, made most recently used (created, expecting 1, if unknown); forgets idle ones. */
  private touch(sender: string, now: number): Entry<T> {
    let e = this.senders.get(sender);
    if (e !== undefined) {
      this.senders.delete(sender);
    } else {
      e = { next: 1, used: now, held: undefined };
      this.evict(now);
    }
    e.used = now;
    this.senders.set(sender, e);
    return e;
  }

  /** Forgets idle senders (oldest first) and, past the cap, the least recently used one without held messages. */
  private evict(now: number): void {
    for (const [sender, e] of this.senders) {
      if (now - e.used < this.opts.forgetAfter && this.senders.size < this.opts.maxSenders) return;
      if (e.held === undefined) this.senders.delete(sender);
      else if (now - e.used < this.opts.forgetAfter) continue;
    }
  }

  /**
   * Nothing up to `settled` can still arrive: expect the one after it; held ones below it are
   * late. True when the one now expected was held (it is released).
   */
  private settle(sender: string, e: Entry<T>, settled: number): boolean {
    e.next = settled + 1;
    if (e.held !== undefined) {
      for (const [seq, h] of e.held) {
        if (seq >= e.next) continue;
        e.held.delete(seq);
        this.waiting--;
        this.dropped.push(h.item);
      }
      if (e.held.size === 0) e.held = undefined;
    }
    return this.releaseNext(sender, e);
  }

  private releaseNext(sender: string, e: Entry<T>): boolean {
    const h = e.held?.get(e.next);
    if (h === undefined) return false;
    e.held!.delete(e.next);
    this.waiting--;
    if (e.held!.size === 0) e.held = undefined;
    this.ready.push({ sender, seq: e.next, item: h.item });
    return true;
  }
}

/** What to do with a message now: run its turn, keep it for a gap, or refuse it as late. */
export type Verdict = "run" | "held" | "late";

/** One sender's place in a handed-over table: `[sender id, next sequence number expected]`. */
export type OrderEntry = [sender: string, next: number];

/** The bounds and the gap timeout of a {@link SenderOrder}. */
export interface SenderOrderOptions {
  /** Most senders remembered per actor. */
  maxSenders: number;
  /** A sender idle this long (ms) is forgotten; keep it above the longest call timeout. */
  forgetAfter: number;
  /** Longest (ms) an early message waits for the ones before it (also at most half its remaining deadline). */
  gapTimeout: number;
}

/** A released message and its place. */
export interface Ready<T> {
  sender: string;
  seq: number;
  item: T;
}

interface Entry<T> {
  next: number;
  used: number;
  held: Map<number, { item: T; releaseAt: number }> | undefined;
}
