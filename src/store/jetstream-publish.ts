import { JetStreamApiError, PubHeaders } from "@nats-io/jetstream";
import {
  createInbox,
  errors as natsErrors,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  type Subscription,
} from "@nats-io/transport-node";
import { InternalError } from "../errors.js";

/** What an append asks of JetStream beyond the payload. */
export interface JournalPublishOptions {
  /** `Nats-Msg-Id`: a repeated publish of the same id is answered as a duplicate. */
  readonly msgID: string;
  /** `Nats-Expected-Last-Subject-Sequence`: the server refuses the message unless the subject ends there. */
  readonly expect: { readonly lastSubjectSequence: number };
  /** Headers of our own; the two above are appended to them. */
  readonly headers: MsgHdrs;
  readonly timeout: number;
}

/** The server's acknowledgement, as much of it as appending reads. */
export interface JournalPubAck {
  readonly seq: number;
  readonly duplicate?: boolean;
}

/**
 * A JetStream publish, as appending needs it. `JetStreamClient` of `@nats-io/jetstream` fits
 * (tests pass one that loses acks); the store uses {@link InboxPublisher}. Failures are what
 * nats.js throws for the same outcome: `JetStreamApiError` for a refusal, its `TimeoutError`,
 * a `RequestError` caused by `NoRespondersError`, `ClosedConnectionError`.
 */
export interface JournalPublisher {
  publish(subject: string, payload: Uint8Array, opts: JournalPublishOptions): Promise<JournalPubAck>;
}

interface Pending {
  resolve(ack: JournalPubAck): void;
  reject(err: unknown): void;
  readonly subject: string;
  readonly timer: NodeJS.Timeout;
}

const utf8 = new TextDecoder();

/**
 * JetStream publishes over one inbox subscription of our own: each publish carries
 * `<inbox>.<token>` as its reply subject, and the acknowledgement is matched by token.
 *
 * Why not `JetStreamClient.publish`: it is `NatsConnection.request`, whose request object, on
 * success, also rejects its settled promise with a new `RequestError("cancelled")` — an Error,
 * stack captured, per append, whatever `noAsyncTraces` says — plus a deferred, a timeout
 * object and an options spread. That was ~18% of a writer's CPU; at window 32 and 1 KB this
 * path takes the client's CPU per append from ~40 µs to ~19 µs (bench/event-store.ts, and the
 * raw baseline there stays nats.js's publish).
 *
 * The subscription survives reconnects as any other does. A publish not answered within its
 * timeout fails with a `TimeoutError` (its outcome unknown, as with nats.js); when the
 * subscription ends (connection closed, or {@link close}) everything pending fails with
 * `ClosedConnectionError`.
 */
export class InboxPublisher implements JournalPublisher {
  private readonly inbox: string;
  private readonly sub: Subscription;
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private ended = false;

  constructor(private readonly nc: NatsConnection) {
    // The connection's own inbox prefix (where an account's permissions allow replies), as its
    // requests use; the connection's options are not in nats.js's public interface.
    const prefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.inbox = `${createInbox(prefix)}.`;
    this.sub = nc.subscribe(`${this.inbox}*`, { callback: (err, m) => (err === null ? this.answer(m) : this.failAll(err)) });
    void this.sub.closed.then(
      () => this.end(),
      () => this.end(),
    );
  }

  publish(subject: string, payload: Uint8Array, opts: JournalPublishOptions): Promise<JournalPubAck> {
    return new Promise<JournalPubAck>((resolve, reject) => {
      if (this.ended) return reject(new natsErrors.ClosedConnectionError());
      const token = (this.next++).toString(36);
      const h = opts.headers;
      h.append(PubHeaders.MsgIdHdr, opts.msgID);
      h.append(PubHeaders.ExpectedLastSubjectSequenceHdr, String(opts.expect.lastSubjectSequence));
      try {
        this.nc.publish(subject, payload, { reply: this.inbox + token, headers: h });
      } catch (err) {
        return reject(err);
      }
      const timer = setTimeout(() => {
        if (this.pending.delete(token)) reject(new natsErrors.TimeoutError());
      }, opts.timeout);
      this.pending.set(token, { resolve, reject, subject, timer });
    });
  }

  /** Stops listening; pending publishes fail with `ClosedConnectionError`. */
  close(): void {
    if (this.ended) return;
    this.sub.unsubscribe();
    this.end();
  }

  private answer(m: Msg): void {
    const token = m.subject.slice(this.inbox.length);
    const p = this.pending.get(token);
    if (p === undefined) return; // late, after its timeout
    this.pending.delete(token);
    clearTimeout(p.timer);
    if (m.data.length === 0 && m.headers?.code === 503) {
      p.reject(new RequestError(`no responders: '${p.subject}'`, { cause: new NoRespondersError(p.subject) }));
      return;
    }
    let reply: unknown;
    try {
      reply = JSON.parse(utf8.decode(m.data));
    } catch {
      reply = undefined;
    }
    const r = reply as { error?: { code?: unknown; err_code?: unknown; description?: unknown }; seq?: unknown; duplicate?: unknown } | undefined;
    const e = r?.error;
    if (e !== undefined && typeof e === "object" && e !== null && typeof e.code === "number") {
      p.reject(new JetStreamApiError({ code: e.code, err_code: typeof e.err_code === "number" ? e.err_code : 0, description: String(e.description ?? "") }));
    } else if (typeof r?.seq === "number" && Number.isSafeInteger(r.seq) && r.seq > 0) {
      p.resolve({ seq: r.seq, duplicate: r.duplicate === true });
    } else {
      p.reject(new InternalError(`malformed JetStream acknowledgement on ${p.subject}`, { details: { bytes: m.data.length } }));
    }
  }

  private failAll(err: unknown): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private end(): void {
    this.ended = true;
    this.failAll(new natsErrors.ClosedConnectionError());
  }
}
