import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { BadRequestError, UnavailableError } from "../src/errors.js";
import { replySubjectPrefix, rpcSubject } from "../src/nats-names.js";
import type { ReplyTo } from "../src/reply-to.js";
import { readReplyBatch } from "./batch-wire.js";
import { type Call, Calls } from "./calls.js";
import { Coalescer } from "./coalesce.js";
import type { Transport } from "./transport.js";
import type { TransportLink } from "./transport-link.js";
import type { RpcRequest } from "./wire.js";

/**
 * The sending side of node-to-node requests: the requests to one peer made during one job (see
 * {@link Coalescer}) leave as one batch on the peer's rpc subject, with a reply subject of ours
 * naming the batch (`<prefix>.<batch>`); the reply batches that come back there settle the
 * open calls (`Calls`: by corr, one timer for every deadline). A peer with no subscriber — the
 * server's no-responders status on the reply subject — fails the whole batch with UNAVAILABLE.
 */
export class TransportClient implements Transport {
  private readonly nc: NatsConnection;
  private readonly calls: Calls;
  private readonly outbox: Coalescer<string, Call>;
  private readonly replyPrefix: string;
  private readonly replySub: Subscription;

  constructor(
    private readonly link: TransportLink,
    private readonly cluster: string,
    nodeId: string,
  ) {
    this.nc = link.nc;
    this.calls = new Calls(link.clock);
    this.outbox = new Coalescer(
      link.encode,
      (node, calls, bytes) => this.sendBatch(node, calls, bytes),
      link.limits,
      (err) => link.log.error({ err }, "could not send a node batch"),
    );
    this.replyPrefix = replySubjectPrefix(cluster, nodeId);
    link.onReplies = (msg) => this.onReplies(msg);
    this.replySub = this.nc.subscribe(`${this.replyPrefix}.*`, {
      callback: (err, msg) => {
        if (err === null) link.readReply(msg);
      },
    });
  }

  /** Stops reading replies and fails the calls still open (UNAVAILABLE). */
  close(): void {
    this.replySub.unsubscribe();
    this.calls.close(this.outbox.discard());
  }

  /** Told when a peer reports tells of ours that failed there (it logged why). */
  onTellsFailed(fn: (node: string, failed: number) => void): void {
    this.calls.onTellsFailed = fn;
  }

  request(node: string, req: RpcRequest, timeoutMs: number): Promise<unknown> {
    return new Promise((ok, fail) => this.send(node, req, timeoutMs, { ok, fail }));
  }

  send(node: string, req: RpcRequest, timeoutMs: number, to: ReplyTo): void {
    const call = this.calls.open(node, req, timeoutMs, to);
    let tooBig: number;
    try {
      tooBig = this.outbox.add(node, call, call.wire());
    } catch (err) {
      call.fail(new BadRequestError(`cannot encode a request to node ${node}: ${String((err as Error)?.message ?? err)}`, { details: { node } }));
      return;
    }
    if (tooBig > 0) call.fail(new BadRequestError(`node request of ${tooBig} bytes is over the ${this.link.maxBytes()}-byte limit`, { details: { node } }));
  }

  private sendBatch(node: string, calls: Call[], bytes: Uint8Array): void {
    const batch = this.calls.sent(calls);
    try {
      this.nc.publish(rpcSubject(this.cluster, node), bytes, { reply: `${this.replyPrefix}.${batch}` });
    } catch (err) {
      this.calls.failBatch(
        batch,
        () => new UnavailableError(`request to node ${node} failed: ${String((err as Error)?.message ?? err)}`, { cause: err, details: { node } }),
      );
    }
  }

  private onReplies(msg: Msg): void {
    const batch = Number(msg.subject.slice(this.replyPrefix.length + 1));
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.calls.failBatch(batch, (c) => new UnavailableError(`node ${c.node} does not answer (no responders)`, { details: { node: c.node } }));
      return;
    }
    let all: ReturnType<typeof readReplyBatch>;
    try {
      all = readReplyBatch(this.link.codec.decode(msg.data), this.calls, batch);
    } catch (err) {
      this.link.log.warn({ err, batch }, "unreadable reply batch from a peer: its requests will time out");
      return;
    }
    if (all !== undefined) this.calls.answerBatch(batch, all);
  }
}
