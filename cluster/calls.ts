import type { ResponseEnvelope } from "../src/codec/envelope.js";
import type { Clock } from "../src/clock.js";
import { errorFromWire, TimeoutError, UnavailableError, type WireError } from "../src/errors.js";
import type { ReplyTo } from "../src/reply-to.js";
import { Deadlines, type Expirable } from "../src/runtime/deadlines.js";
import { type ReplySink, requestEntry } from "./batch-wire.js";
import { modeOf, type RpcRequest } from "./wire.js";

/**
 * One batch as sent: its calls, and how many are still unanswered. Its tells (calls with corr
 * 0) are answered together by the batch's tell acknowledgement, so the batch holds their
 * deadline: the latest of theirs.
 */
class Batch implements Expirable {
  /** Calls answered one by one, still open. */
  open = 0;
  /** Tells still open. */
  tells = 0;
  deadline = -Infinity;

  constructor(
    readonly id: number,
    readonly calls: Call[],
  ) {}

  get settled(): boolean {
    return this.tells === 0;
  }

  /** The tells' acknowledgement never came: each fails with TIMEOUT (it may have been applied). */
  expire(): void {
    for (const c of this.calls) if (c.corr === 0 && !c.settled) c.expire();
  }
}

/**
 * A request sent to a peer and not yet answered; its answer goes to its {@link ReplyTo}. A
 * tell is a call with corr 0: answered by its batch's acknowledgement, with `null`. It
 * lets go of the request once it is on the wire, and of its batch and where the answer went
 * once settled: the deadline queue drops settled calls lazily, and what they still held would
 * otherwise live on into the old generation.
 */
export class Call implements Expirable {
  settled = false;
  batch: Batch | undefined;
  private req: RpcRequest | undefined;
  private to: ReplyTo | undefined;

  constructor(
    private readonly owner: Calls,
    readonly corr: number,
    readonly node: string,
    req: RpcRequest,
    readonly deadline: number,
    to: ReplyTo,
  ) {
    this.req = req;
    this.to = to;
  }

  /**
   * What goes on the wire for it, asked for once, before it is sent. The call then lets go of
   * the request: with thousands in flight, what each holds until its answer is what every
   * scavenge copies.
   */
  wire(): unknown[] {
    const req = this.req;
    if (req === undefined) throw new Error("a call's request is sent once, and a settled call has nothing to send");
    this.req = undefined;
    return requestEntry(this.corr, req);
  }

  expire(): void {
    this.fail(new TimeoutError(`node ${this.node} did not answer in time`, { details: { node: this.node } }));
  }

  answer(res: ResponseEnvelope): void {
    if (res.ok) this.succeed(res.reply);
    else this.fail(errorFromWire(res.error));
  }

  succeed(reply: unknown): void {
    const to = this.settle();
    to?.ok(reply);
  }

  fail(err: unknown): void {
    const to = this.settle();
    to?.fail(err);
  }

  /** Marks it settled; returns where its answer goes, or undefined if it was settled before. */
  private settle(): ReplyTo | undefined {
    if (this.settled) return undefined;
    const to = this.to;
    this.settled = true;
    this.owner.forget(this);
    this.req = undefined;
    this.batch = undefined;
    this.to = undefined;
    return to;
  }
}

/**
 * The caller side of node requests: every call by correlation id, the batches they went out
 * in (a batch can fail as one: no responders, unreadable), and one timer for all deadlines.
 */
export class Calls implements ReplySink {
  private readonly byCorr = new Map<number, Call>();
  private readonly batches = new Map<number, Batch>();
  private readonly deadlines: Deadlines;
  private nextCorr = 1;
  private nextBatch = 1;

  constructor(private readonly clock: Clock) {
    this.deadlines = new Deadlines(clock);
  }

  get size(): number {
    return this.byCorr.size;
  }

  /** A call for `req`; a tell (`req.tell`) gets corr 0 and waits for its batch's acknowledgement. */
  open(node: string, req: RpcRequest, timeoutMs: number, to: ReplyTo): Call {
    const tell = req.k === "ask" && modeOf(req) === "tell";
    const call = new Call(this, tell ? 0 : this.nextCorr++, node, req, this.clock.now() + timeoutMs, to);
    if (tell) return call;
    this.byCorr.set(call.corr, call);
    this.deadlines.add(call);
    return call;
  }

  /** Records that `calls` went out together; returns the batch's id (its reply subject's last token). */
  sent(calls: Call[]): number {
    const batch = new Batch(this.nextBatch++, calls);
    for (const c of calls) {
      if (c.settled) continue;
      c.batch = batch;
      if (c.corr !== 0) batch.open++;
      else {
        batch.tells++;
        if (c.deadline > batch.deadline) batch.deadline = c.deadline;
      }
    }
    if (batch.open > 0 || batch.tells > 0) this.batches.set(batch.id, batch);
    if (batch.tells > 0) this.deadlines.add(batch);
    return batch.id;
  }

  ok(corr: number, reply: unknown): void {
    this.byCorr.get(corr)?.succeed(reply);
  }

  error(corr: number, error: WireError): void {
    this.byCorr.get(corr)?.fail(errorFromWire(error));
  }

  /** Batch `id`'s tells are done: each succeeds with `null` (`failed` of them failed at the peer, which logged why). */
  told(id: number, failed: number): void {
    const batch = this.batches.get(id);
    if (batch === undefined || batch.tells === 0) return;
    for (const c of batch.calls) if (c.corr === 0 && !c.settled) c.succeed(null);
    if (failed > 0) this.onTellsFailed?.(batch.calls[0]!.node, failed);
  }

  /** Told how many tells a peer reported failed (their errors are in the peer's log). */
  onTellsFailed: ((node: string, failed: number) => void) | undefined;

  /** Settles every unanswered call of batch `id` with `res` (a peer's answer for all of them). */
  answerBatch(id: number, res: ResponseEnvelope): void {
    const batch = this.batches.get(id);
    if (batch === undefined) return;
    for (const c of batch.calls) if (!c.settled) c.answer(res);
  }

  /** Fails every unanswered call of batch `id`. */
  failBatch(id: number, err: (c: Call) => unknown): void {
    const batch = this.batches.get(id);
    if (batch === undefined) return;
    for (const c of batch.calls) if (!c.settled) c.fail(err(c));
  }

  forget(call: Call): void {
    const batch = call.batch;
    if (call.corr !== 0) {
      this.byCorr.delete(call.corr);
      if (batch !== undefined) batch.open--;
    } else if (batch !== undefined) batch.tells--;
    if (batch !== undefined && batch.open === 0 && batch.tells === 0) this.batches.delete(batch.id);
  }

  /** Fails every open call (`unsent` too: calls opened but never sent): nothing will answer them any more. */
  close(unsent: readonly Call[] = []): void {
    this.deadlines.close();
    const closed = (c: Call) => new UnavailableError(`the transport closed before node ${c.node} answered`, { details: { node: c.node } });
    for (const c of [...this.byCorr.values(), ...unsent]) if (!c.settled) c.fail(closed(c));
    for (const b of [...this.batches.values()]) for (const c of b.calls) if (c.corr === 0 && !c.settled) c.fail(closed(c));
  }
}
