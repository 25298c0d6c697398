import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { Clock } from "../src/clock.js";
import { defaultDecodeLimits } from "../src/codec/limits.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import type { Logger } from "../src/log.js";
import type { CoalescerLimits } from "./coalesce.js";

/** Most requests (or replies) in one batch message. */
const MAX_BATCH_ITEMS = 64;
/** A batch this big leaves without waiting for the end of the job (see {@link CoalescerLimits.flushBytes}). */
const FLUSH_BYTES = 32 * 1024;
/** Batches read and waiting for their own job, at most (see {@link TransportLink.readRequest}). */
const MAX_WAITING = 16;

/**
 * What the two sides of a node's transport share on its connection: the batch codec and limits,
 * and the order in which the batches read from their two subscriptions — peers' request batches
 * for the server, reply batches for the client — are handled.
 *
 * The first message read is handled at once and each further one in a job of its own
 * (`setImmediate`: after the previous job's flushes, no timer). When several batches arrive in
 * one socket read, the replies (or the next asks) the first one produces leave before the second
 * is started, so the batches in flight between two nodes stay apart instead of merging into one
 * wave that each side handles while the other waits: +25–35% asks/s at window 128. Reply batches
 * go first (they free callers); request batches are handled oldest first, so the order in which
 * a peer sent is kept.
 */
export class TransportLink {
  /** Two levels deeper than a single request allows: the batch array and its entry. */
  readonly codec = new MsgpackCodec({ maxDepth: defaultDecodeLimits.maxDepth + 2 });
  /** Encodes one batch entry; the bytes are a view the next call overwrites (see `Coalescer`). */
  readonly encode = (entry: unknown): Uint8Array => this.codec.encodeView(entry);
  readonly limits: CoalescerLimits = { maxItems: MAX_BATCH_ITEMS, flushBytes: FLUSH_BYTES, maxBytes: () => this.maxBytes() };
  /** Handles a reply batch read; set by the client. */
  onReplies: (msg: Msg) => void = unclaimed;
  /** Handles a peer's request batch read; set by the server once it serves. */
  onRequests: (msg: Msg) => void = unclaimed;

  private readonly requests: Msg[] = [];
  private readonly replies: Msg[] = [];
  private handling = false;

  constructor(
    readonly nc: NatsConnection,
    readonly log: Logger,
    readonly clock: Clock,
  ) {}

  /** The largest message both this connection's server and the peer's decoder take. */
  maxBytes(): number {
    return Math.min(this.nc.info?.max_payload ?? defaultDecodeLimits.maxBytes, this.codec.limits.maxBytes);
  }

  /** A peer's request batch has been read. */
  readRequest(msg: Msg): void {
    this.received(this.requests, msg);
  }

  /** A reply batch to one of our batches has been read. */
  readReply(msg: Msg): void {
    this.received(this.replies, msg);
  }

  /** Handles, now, every request batch read and still waiting (a stopping server owes them answers). */
  handleRequestsNow(): void {
    while (this.requests.length > 0) this.onRequests(this.requests.shift()!);
  }

  private received(queue: Msg[], msg: Msg): void {
    queue.push(msg);
    if (!this.handling) {
      this.handling = true;
      this.handleOne();
      setImmediate(this.handleNext);
      return;
    }
    // Reading never runs far ahead of handling: past a few waiting batches, the oldest go now.
    while (this.requests.length + this.replies.length > MAX_WAITING) this.handleOne();
  }

  /** One message: a reply batch first (it frees callers), else the oldest request batch. */
  private handleOne(): void {
    const msg = this.replies.shift();
    if (msg !== undefined) return this.onReplies(msg);
    const req = this.requests.shift();
    if (req !== undefined) this.onRequests(req);
  }

  private readonly handleNext = (): void => {
    if (this.requests.length + this.replies.length === 0) {
      this.handling = false;
      return;
    }
    this.handleOne();
    setImmediate(this.handleNext);
  };
}

function unclaimed(): void {
  // Only reachable through a subscription, which the side that handles it opens after setting it.
}
