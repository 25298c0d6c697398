import type { Clock, TimerHandle } from "../clock.js";
import { ErrorCode, ShoalError } from "../errors.js";
import type { ActorKey } from "../store/types.js";
import { actorKeyString, before, type MailState, type Origin, type Outgoing } from "./outgoing.js";

/** What a postbox needs from its activation's runtime. */
export interface PostboxHost {
  readonly clock: Clock;
  /** Delivers one message with its origin: resolves once the receiver has applied it (or had already). */
  deliverOutgoing(to: ActorKey, msg: unknown, origin: Origin): Promise<void>;
  /** The receiver refused a message (REJECTED): it is dropped, and worth logging. */
  outgoingRefused(from: ActorKey, m: Outgoing, err: unknown): void;
  /** A message has failed `attempts` times in a row and is still being retried: worth a warning now and then. */
  outgoingStuck(from: ActorKey, m: Outgoing, err: unknown, attempts: number): void;
}

/** A receiver whose oldest unacknowledged message has failed every attempt so far. */
export interface FailingReceiver {
  readonly type: string;
  readonly id: string;
  /** Attempts in a row that failed (the next one is waiting for its backoff, or under way). */
  readonly attempts: number;
  /** The last failure's code (INTERNAL for anything that is not a ShoalError). */
  readonly code: string;
  /** Messages to it waiting for acknowledgement, the failing one included. */
  readonly pending: number;
}

/** What a turn may read of its actor's outbox (the built-in topic broker's fault policy reads it). */
export interface OutboxView {
  /** Messages to this receiver waiting for acknowledgement. */
  pendingTo(type: string, id: string): number;
  /** The receivers whose deliveries are failing now. */
  failing(): FailingReceiver[];
}

/** Attempts after which a message still failing is reported, and every how many more. */
const STUCK_AFTER = 5;
const STUCK_EVERY = 20;
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5000;

/**
 * An actor's messages between actors: the outbox of an event-sourced sender (messages its turns
 * recorded, delivered until acknowledged) and, for any receiver, the last message applied from
 * each sending actor.
 *
 * Delivery is in order per receiver, one message in flight each: the next goes once the previous
 * is acknowledged. A receiver that keeps only its last applied origin per sender can then drop
 * any copy at or below it as a duplicate. Receivers are served in parallel. A refusal (REJECTED)
 * ends a message's delivery; any other failure sends the same message again after a backoff
 * (50 ms doubling to 5 s), for as long as the activation lives, reported after 5 attempts and
 * every 20 more; whoever loads the actor next sends what is still unacknowledged.
 */
export class Postbox implements OutboxView {
  /** Unacknowledged messages per receiver, in the sender's order. */
  private readonly queues = new Map<string, Outgoing[]>();
  /** Receivers with a message in flight or waiting for a retry, with the attempts so far. */
  private readonly inFlight = new Map<string, number>();
  /** Receivers whose oldest message failed its last attempt: attempts in a row and the last code. */
  private readonly failures = new Map<string, { attempts: number; code: string }>();
  private readonly retries = new Set<TimerHandle>();
  private readonly seenBy = new Map<string, Origin>();
  private pendingCount = 0;
  /** Version of the newest batch that recorded messages. */
  private latest: number;
  /** The acknowledgement mark written to the journal last. */
  private recorded: number;
  private stopped = false;

  constructor(
    private readonly owner: ActorKey,
    private readonly host: PostboxHost,
    state?: MailState,
  ) {
    this.latest = state?.acked ?? 0;
    this.recorded = state?.acked ?? 0;
    for (const o of state?.seen ?? []) this.seenBy.set(actorKeyString(o.type, o.id), o);
    if (state !== undefined && state.outbox.length > 0) this.add(state.outbox);
  }

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.pendingCount;
  }

  pendingTo(type: string, id: string): number {
    return this.queues.get(actorKeyString(type, id))?.length ?? 0;
  }

  failing(): FailingReceiver[] {
    const out: FailingReceiver[] = [];
    for (const [k, f] of this.failures) {
      const q = this.queues.get(k);
      if (q === undefined || q.length === 0) continue;
      out.push({ type: q[0]!.type, id: q[0]!.id, attempts: f.attempts, code: f.code, pending: q.length });
    }
    return out;
  }

  /**
   * Gives up every unacknowledged message to one receiver (a turn recorded that it abandons
   * them): none is sent again, and a delivery under way is let go. Returns how many there were.
   */
  abandon(type: string, id: string): number {
    const k = actorKeyString(type, id);
    const q = this.queues.get(k);
    if (q === undefined) return 0;
    this.queues.delete(k);
    this.inFlight.delete(k);
    this.failures.delete(k);
    this.pendingCount -= q.length;
    return q.length;
  }

  /** Whether the receiver has applied this message already (at or below the last origin it applied from that sender). */
  applied(o: Origin): boolean {
    const mark = this.seenBy.get(actorKeyString(o.type, o.id));
    return mark !== undefined && !before(mark, o);
  }

  /** The receiver applied `o`. */
  markApplied(o: Origin): void {
    const k = actorKeyString(o.type, o.id);
    const mark = this.seenBy.get(k);
    if (mark === undefined || before(mark, o)) this.seenBy.set(k, o);
  }

  /** Every message of the batches up to this version has been acknowledged. */
  get acked(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const q of this.queues.values()) if (q.length > 0 && q[0]!.v < min) min = q[0]!.v;
    return min === Number.POSITIVE_INFINITY ? this.latest : min - 1;
  }

  /** The mark to write with the next batch: undefined when the journal already has it. */
  ackToRecord(): number | undefined {
    const a = this.acked;
    return a > this.recorded ? a : undefined;
  }

  /** The batch that carried mark `a` is stored. */
  recordedAck(a: number): void {
    if (a > this.recorded) this.recorded = a;
  }

  /** Messages a stored turn sent (in order): each goes to its receiver after those before it. */
  add(messages: readonly Outgoing[]): void {
    for (const m of messages) {
      const k = actorKeyString(m.type, m.id);
      let q = this.queues.get(k);
      if (q === undefined) {
        q = [];
        this.queues.set(k, q);
      }
      q.push(m);
      this.pendingCount++;
      if (m.v > this.latest) this.latest = m.v;
    }
    for (const [k, q] of this.queues) if (!this.inFlight.has(k) && q.length > 0) this.deliver(k, q, 0);
  }

  /** The state to keep (a snapshot) or hand over (a live move). */
  state(): MailState {
    const outbox: Outgoing[] = [];
    for (const q of this.queues.values()) outbox.push(...q);
    outbox.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return { outbox, seen: [...this.seenBy.values()], acked: this.acked };
  }

  /** Sends nothing more (the actor moved, passivated or reloads); what is in flight is let go. */
  stop(): void {
    this.stopped = true;
    for (const t of this.retries) t.cancel();
    this.retries.clear();
  }

  private deliver(k: string, q: Outgoing[], attempt: number): void {
    if (this.stopped || this.queues.get(k) !== q) return; // stopped, or abandoned
    const m = q[0]!;
    this.inFlight.set(k, attempt);
    const origin: Origin = { type: this.owner.type, id: this.owner.id, v: m.v, i: m.i };
    let sent: Promise<void>;
    try {
      sent = this.host.deliverOutgoing({ type: m.type, id: m.id }, m.msg, origin);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => this.done(k, q),
      (err: unknown) => {
        if (this.stopped || this.queues.get(k) !== q) return;
        if (ShoalError.is(err, ErrorCode.REJECTED)) {
          this.host.outgoingRefused(this.owner, m, err);
          return this.done(k, q);
        }
        // Anything else is retried: a timeout or a move, and also what should not happen between
        // nodes of one version (BAD_REQUEST, an unknown type, a bug in the receiver), which a
        // rolling upgrade or a fix can cure. Dropping the message would break exactly-once.
        const n = attempt + 1;
        this.failures.set(k, { attempts: n, code: ShoalError.is(err) ? err.code : ErrorCode.INTERNAL });
        if (n === STUCK_AFTER || (n > STUCK_AFTER && (n - STUCK_AFTER) % STUCK_EVERY === 0)) this.host.outgoingStuck(this.owner, m, err, n);
        this.retry(k, q, n);
      },
    );
  }

  private done(k: string, q: Outgoing[]): void {
    if (this.stopped || this.queues.get(k) !== q) return; // stopped, or abandoned meanwhile
    this.inFlight.delete(k);
    this.failures.delete(k);
    q.shift();
    this.pendingCount--;
    if (q.length > 0) return this.deliver(k, q, 0);
    this.queues.delete(k);
  }

  private retry(k: string, q: Outgoing[], attempt: number): void {
    const t = this.host.clock.setTimeout(
      () => {
        this.retries.delete(t);
        this.deliver(k, q, attempt);
      },
      Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1)),
    );
    this.retries.add(t);
  }
}
