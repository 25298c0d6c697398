import { TimeoutError } from "../errors.js";
import type { SenderSeq } from "../codec/envelope.js";
import type { ReplyTo } from "../reply-to.js";
import type { Expirable } from "./deadlines.js";
import type { From } from "./outgoing.js";
import type { TimerTag } from "./timers.js";

let nextSeq = 0;

/**
 * One message on its way through the runtime, with where its reply goes. Created once per
 * ask/tell; the migration coordinator may take buffered ones and settle them with a forwarded
 * answer, so settling is idempotent and the first answer wins.
 */
export class Pending implements Expirable {
  /** Arrival order across the whole runtime: buffered messages are replayed in this order. */
  readonly seq = nextSeq++;
  settled = false;

  constructor(
    readonly type: string,
    readonly id: string,
    readonly msg: unknown,
    readonly deadline: number,
    private readonly to: ReplyTo,
    /** Its place in a client's order of messages to this actor (ingress `sender`/`seq`/`settled`), if it has one. */
    readonly order?: SenderSeq,
    /** Set on a timer's message: which firing it is (a replaced or cancelled timer's message is dropped). */
    readonly timer?: TimerTag,
    /** Set on a message from another actor: the outgoing message it is, and the asks waiting on it. */
    readonly from?: From,
  ) {}

  resolve(reply: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.to.ok(reply);
  }

  reject(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.to.fail(err);
  }

  expire(): void {
    this.reject(new TimeoutError(`no reply from ${this.type}/${this.id} in time`, { details: { type: this.type } }));
  }
}
