import type { NatsConnection } from "@nats-io/transport-node";
import type { Clock, TimerHandle } from "../src/clock.js";
import type { Logger } from "../src/log.js";
import { loadSubject } from "../src/nats-names.js";
import type { LoadMeter } from "../src/runtime/load-meter.js";
import { encodeLoadReport, type LoadReport, MAX_REPORT_SHARDS } from "./load-report.js";

/** What a {@link LoadReporter} needs. */
export interface LoadReporterOptions {
  nc: NatsConnection;
  cluster: string;
  nodeId: string;
  clock: Clock;
  log: Logger;
  /** The runtime's meter, sampled at each report. */
  meter: LoadMeter;
  /** Time between reports (ms). */
  every: number;
  /** Whether this node's map gives it `shard` now. */
  owns: (shard: number) => boolean;
}

/**
 * Samples this node's load every `every` ms, on the clock's multiples of `every` (see
 * {@link untilBoundary}), and publishes it on `shoal.<cluster>.load.<token(node)>`
 * (core NATS: a lost report is replaced by the next). A shard is reported while this node owns
 * it or holds actors or messages of it: the fading rate of a shard that moved away would count
 * its turns twice at the leader.
 */
export class LoadReporter {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private latest: LoadReport | undefined;
  private readonly subject: string;

  constructor(private readonly opts: LoadReporterOptions) {
    this.subject = loadSubject(opts.cluster, opts.nodeId);
  }

  /** The last report made (undefined before the first). */
  get last(): LoadReport | undefined {
    return this.latest;
  }

  /** Reports now, then every interval until {@link stop}. */
  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.tick();
  }

  /** Stops reporting. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Samples and publishes one report; also what the timer runs. */
  report(): LoadReport {
    const { meter, owns, nodeId, every } = this.opts;
    const sample = meter.sample();
    let shards = sample.shards.filter((s) => s.actors > 0 || s.mailbox > 0 || owns(s.shard));
    if (shards.length > MAX_REPORT_SHARDS) {
      // Past what one message holds: the busiest, in shard order.
      shards = shards
        .sort((a, b) => b.turnsPerSec - a.turnsPerSec)
        .slice(0, MAX_REPORT_SHARDS)
        .sort((a, b) => a.shard - b.shard);
    }
    const report: LoadReport = { node: nodeId, at: sample.at, every, shards, hot: sample.hot };
    this.latest = report;
    try {
      this.opts.nc.publish(this.subject, encodeLoadReport(report));
    } catch (err) {
      // A closed or reconnecting connection: the next report goes when it can.
      this.opts.log.debug({ err }, "could not publish a load report");
    }
    return report;
  }

  private tick(): void {
    if (this.stopped) return;
    try {
      this.report();
    } catch (err) {
      this.opts.log.warn({ err }, "load report failed");
    }
    this.timer = this.opts.clock.setTimeout(() => this.tick(), untilBoundary(this.opts.clock.now(), this.opts.every));
  }
}

/**
 * Time to the next multiple of `every` on the (wall) clock. Every node samples on the same
 * boundaries, so the leader compares reports that cover the same window: sampled each at its own
 * phase, a change of load reads as an imbalance toward whichever node reported last (the skew
 * bench saw swaps, some off the least loaded node, every time the load started or stopped).
 */
export function untilBoundary(now: number, every: number): number {
  const rest = every - (now % every);
  return rest <= 0 ? every : rest;
}
