/**
 * Traffic through the ingress, as an outside client sends it: sender loops, one request retried
 * with backoff until acknowledged, every attempt recorded with the phase the test had marked when
 * its outcome was known, live counters. The bank and sequencer workloads are built on it.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { ShoalClient } from "../../src/client.js";
import { ErrorCode, ShoalError } from "../../src/errors.js";

/** The phases a test walks through (`steady`, `join`, `drain`, `crash`…), as a timeline. */
export class Phases {
  private readonly marks: Array<{ name: string; at: number }>;

  constructor(initial = "steady") {
    this.marks = [{ name: initial, at: Date.now() }];
  }

  mark(name: string): void {
    this.marks.push({ name, at: Date.now() });
  }

  get current(): string {
    return this.marks.at(-1)!.name;
  }

  timeline(): ReadonlyArray<{ name: string; at: number }> {
    return this.marks;
  }
}

/** One try of one request. `outcome` is "ok" or the error code; `phase` is the phase when it ended. */
export interface Attempt {
  /** Start, ms since the epoch. */
  at: number;
  ms: number;
  outcome: "ok" | string;
  phase: string;
  /** The node that served an ok reply. */
  node?: string;
  /** First 200 characters of an error's message. */
  message?: string;
}

export interface LoopOptions {
  nc: NatsConnection;
  cluster: string;
  senders: number;
  /** Checked before each new request; the request in progress still retries to its end. */
  until: () => boolean;
  /** Retries of one request stop this long after its first attempt (it stays unacknowledged). */
  maxRetryMs?: number;
  phases?: Phases;
  /** Timeout of one attempt (the client's transport waits 1 s more). Default 2000. */
  askTimeout?: number;
  /** Pause between two requests of one sender: the load's rate. Default 0. */
  thinkMs?: number;
}

/** Counters that a test can poll while a workload runs. */
export interface LiveSummary {
  requests: number;
  acked: number;
  failedAttempts: number;
  gaveUp: number;
}

/** A running workload: a live view, `abort()` (drop retries at once, for cleanup) and the end result. */
export interface Run<R, H = unknown> {
  /** The requests so far (live; attempts are appended as they end). */
  readonly history: readonly H[];
  summary(): LiveSummary;
  abort(): void;
  readonly done: Promise<R>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const describeError = (err: unknown) => ({
  code: ShoalError.is(err) ? err.code : "CLIENT_ERROR",
  message: String((err as Error)?.message ?? err).slice(0, 200),
});

/** Shared by the workloads: sender loops, attempts, retries with backoff, live counters. */
export class Driver {
  readonly client: ShoalClient;
  readonly live: LiveSummary = { requests: 0, acked: 0, failedAttempts: 0, gaveUp: 0 };
  aborted = false;

  constructor(readonly opts: LoopOptions) {
    this.client = new ShoalClient(opts.nc, opts.cluster);
  }

  phase(): string {
    return this.opts.phases?.current ?? "run";
  }

  /** Sends `msg` until an ok reply, `maxRetryMs`, or abort; returns the reply or undefined. */
  async untilAcked<R extends { node?: string }>(type: string, id: string, msg: unknown, attempts: Attempt[]): Promise<R | undefined> {
    const settled = await this.untilSettled<R>(type, id, msg, attempts);
    return settled !== undefined && "reply" in settled ? settled.reply : undefined;
  }

  /**
   * Like {@link untilAcked}, but an error whose code is in `final` (e.g. REJECTED) is an answer
   * too: it ends the retries and is returned as `{refused: code}`.
   */
  async untilSettled<R extends { node?: string }>(
    type: string,
    id: string,
    msg: unknown,
    attempts: Attempt[],
    final: ReadonlySet<string> = new Set(),
  ): Promise<{ reply: R } | { refused: string } | undefined> {
    const first = Date.now();
    const maxRetryMs = this.opts.maxRetryMs ?? 30_000;
    const timeout = this.opts.askTimeout ?? 2000;
    this.live.requests++;
    for (let n = 0; !this.aborted; n++) {
      const at = Date.now();
      try {
        const reply = await this.client.ask<R>(type, id, msg, { timeout });
        attempts.push({ at, ms: Date.now() - at, outcome: "ok", phase: this.phase(), node: reply?.node });
        this.live.acked++;
        return { reply };
      } catch (err) {
        const { code, message } = describeError(err);
        attempts.push({ at, ms: Date.now() - at, outcome: code, phase: this.phase(), message });
        if (final.has(code)) {
          this.live.acked++;
          return { refused: code };
        }
        this.live.failedAttempts++;
      }
      if (Date.now() - first >= maxRetryMs) break;
      await sleep(Math.min(250, 10 * 2 ** Math.min(n, 5)) * (0.5 + Math.random()));
    }
    this.live.gaveUp++;
    return undefined;
  }

  async loops(body: (sender: number) => Promise<boolean>): Promise<void> {
    const think = this.opts.thinkMs ?? 0;
    await Promise.all(
      Array.from({ length: this.opts.senders }, async (_, sender) => {
        while (!this.aborted && !this.opts.until()) {
          if (!(await body(sender))) return;
          if (think > 0) await sleep(think);
        }
      }),
    );
  }
}

/**
 * The node that serves an actor: an ok reply's `node`, or the owner an ACTOR_MOVED names.
 * `probe` must be a message that changes nothing.
 */
export async function ownerOf(nc: NatsConnection, cluster: string, type: string, id: string, probe: unknown, timeout = 10_000): Promise<string> {
  const client = new ShoalClient(nc, cluster);
  const deadline = Date.now() + timeout;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await client.ask<{ node?: unknown }>(type, id, probe, { timeout: 2000 });
      if (typeof r?.node === "string") return r.node;
    } catch (err) {
      last = err;
      const owner = ShoalError.is(err, ErrorCode.ACTOR_MOVED) ? err.details?.owner : undefined;
      if (typeof owner === "string") return owner;
    }
    await sleep(50);
  }
  throw new Error(`no owner found for ${type}/${id} in ${timeout} ms`, { cause: last });
}
