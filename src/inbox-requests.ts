import {
  createInbox,
  errors as natsErrors,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  type Subscription,
} from "@nats-io/transport-node";

interface Pending {
  resolve(reply: Msg): void;
  reject(err: unknown): void;
  readonly subject: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * Requests over one inbox subscription of our own: each request carries `<inbox>.<token>` as
 * its reply subject, and the reply is matched by token. Replies are the same as
 * `NatsConnection.request`'s, and so are the failures: its `TimeoutError`, a `RequestError`
 * caused by `NoRespondersError`, `ClosedConnectionError`.
 *
 * Why not `NatsConnection.request`: its request object, on success, also rejects its settled
 * promise with a new `RequestError("cancelled")` — an Error, stack captured, per request,
 * whatever `noAsyncTraces` says — besides a deferred, a timeout object and an options spread.
 * That was ~18% of a JetStream writer's CPU (see BENCHMARKS.md, event-store append).
 *
 * The subscription is made on the first request and survives reconnects as any other does. A
 * request not answered within its timeout fails (its outcome unknown); when the connection
 * closes, or on {@link close}, everything pending fails with `ClosedConnectionError`, and so
 * does every later request.
 *
 * Permissions, as nats.js handles them for its requests: a publish the server denies fails the
 * oldest pending request to that subject at once (the server reports each denied publish once),
 * with a `RequestError` caused by the `PermissionViolationError`; a denied inbox subscription
 * fails everything pending the same way, and the next request subscribes again.
 */
export class InboxRequests {
  private inbox: string | undefined;
  private sub: Subscription | undefined;
  private statusWatch: { stop?: () => void } | undefined;
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private ended = false;

  constructor(private readonly nc: NatsConnection) {}

  request(subject: string, payload: Uint8Array, opts: { headers?: MsgHdrs; timeout: number }): Promise<Msg> {
    return new Promise<Msg>((resolve, reject) => {
      if (this.ended) return reject(new natsErrors.ClosedConnectionError());
      const inbox = this.inbox ?? this.listen();
      const token = (this.next++).toString(36);
      try {
        this.nc.publish(subject, payload, { reply: inbox + token, headers: opts.headers });
      } catch (err) {
        return reject(err);
      }
      const timer = setTimeout(() => {
        if (this.pending.delete(token)) reject(new natsErrors.TimeoutError());
      }, opts.timeout);
      this.pending.set(token, { resolve, reject, subject, timer });
    });
  }

  /** Stops listening; pending and later requests fail with `ClosedConnectionError`. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.sub?.unsubscribe();
    this.end();
  }

  private listen(): string {
    // The connection's own inbox prefix (where an account's permissions allow replies), as its
    // requests use; the connection's options are not in nats.js's public interface.
    const prefix = (this.nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    const inbox = `${createInbox(prefix)}.`;
    const sub = this.nc.subscribe(`${inbox}*`, { callback: (err, m) => (err === null ? this.answer(inbox, m) : this.failAll(denied(err))) });
    this.inbox = inbox;
    this.sub = sub;
    // `closed` resolves with the error that ended the subscription (a denied one: subscribe anew
    // next time), or with nothing when it was unsubscribed or its connection closed.
    const ended = (err?: unknown): void => {
      if (this.sub !== sub) return;
      this.sub = undefined;
      this.inbox = undefined;
      if (this.ended || !(err instanceof Error)) this.end();
    };
    void sub.closed.then(ended, ended);
    this.watchStatus();
    return inbox;
  }

  /** Fails a request whose publish the server denied (nats.js does the same for its own). */
  private watchStatus(): void {
    if (this.statusWatch !== undefined) return;
    const events = this.nc.status();
    this.statusWatch = events as { stop?: () => void };
    void (async () => {
      for await (const s of events) {
        if (s.type !== "error" || !(s.error instanceof PermissionViolationError) || s.error.operation !== "publish") continue;
        for (const [token, p] of this.pending) {
          if (p.subject !== s.error.subject) continue;
          this.pending.delete(token);
          clearTimeout(p.timer);
          p.reject(denied(s.error));
          break;
        }
      }
    })().catch(() => undefined);
  }

  private answer(inbox: string, m: Msg): void {
    const token = m.subject.slice(inbox.length);
    const p = this.pending.get(token);
    if (p === undefined) return; // late, after its timeout
    this.pending.delete(token);
    clearTimeout(p.timer);
    if (m.data.length === 0 && m.headers?.code === 503) {
      p.reject(new RequestError(`no responders: '${p.subject}'`, { cause: new NoRespondersError(p.subject) }));
    } else {
      p.resolve(m);
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
    this.statusWatch?.stop?.();
    this.failAll(new natsErrors.ClosedConnectionError());
  }
}

/** A permission violation as nats.js rejects a request with it: a `RequestError` caused by it. */
function denied(err: Error): Error {
  return err instanceof PermissionViolationError ? new RequestError(err.message, { cause: err }) : err;
}
