import type { NatsConnection } from "@nats-io/transport-node";
import { parseResponse, type RequestEnvelope } from "./codec/envelope.js";
import { decodeJson, encodeJson } from "./codec/json.js";
import { errorFromWire, TimeoutError, UnavailableError } from "./errors.js";
import { InboxRequests } from "./inbox-requests.js";
import { clusterSubjects } from "./nats-names.js";

/**
 * A client of the ingress contract (`shoal.<cluster>.ask`, JSON), as any NATS client in any
 * language would use it. Failures come back as the typed error the node sent.
 *
 * Replies come to one inbox subscription of the client's, made on the first ask (see
 * {@link InboxRequests}: cheaper per ask than `NatsConnection.request`). Keep one client per
 * connection; {@link close} ends the subscription (closing the connection does too).
 */
export class ShoalClient {
  private readonly subject: string;
  private readonly requests: InboxRequests;

  constructor(
    nc: NatsConnection,
    cluster: string,
    private readonly defaultTimeout = 10_000,
  ) {
    this.subject = clusterSubjects(cluster).ask;
    this.requests = new InboxRequests(nc);
  }

  async ask<R = unknown>(type: string, id: string, msg: unknown, opts?: { timeout?: number }): Promise<R> {
    const timeout = opts?.timeout ?? this.defaultTimeout;
    const body: RequestEnvelope = { type, id, msg, timeoutMs: timeout };
    let reply;
    try {
      // The transport waits a little longer than the node, so the node's TIMEOUT answer wins.
      reply = await this.requests.request(this.subject, encodeJson(body), { timeout: timeout + 1000 });
    } catch (err) {
      const text = String((err as Error)?.message ?? err);
      if (/no responders/i.test(text) || (err as { code?: string })?.code === "503") {
        throw new UnavailableError(`no Shoal node serves ${this.subject}`, { cause: err });
      }
      if (/timeout/i.test(text)) throw new TimeoutError(`no answer on ${this.subject} in ${timeout + 1000} ms`);
      throw new UnavailableError(`request on ${this.subject} failed: ${text}`, { cause: err });
    }
    const res = parseResponse(decodeJson(reply.data));
    if (!res.ok) throw errorFromWire(res.error);
    return res.reply as R;
  }

  /** Ends the reply subscription; asks in flight and later fail UNAVAILABLE. The connection stays open. */
  close(): void {
    this.requests.close();
  }
}
