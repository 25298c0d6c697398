import { TimeoutError } from "../errors.js";
import type { Expirable } from "./deadlines.js";

let nextSeq = 0;

/**
 * One message on its way through the runtime, with the caller's promise. Created once per
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
    private readonly onResolve: (reply: unknown) => void,
    private readonly onReject: (err: unknown) => void,
  ) {}

  resolve(reply: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.onResolve(reply);
  }

  reject(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.onReject(err);
  }

  expire(): void {
    this.reject(
      new TimeoutError(`no reply from ${this.type}/${this.id} in time`, { details: { type: this.type } }),
    );
  }
}
