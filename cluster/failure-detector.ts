/**
 * Fast crash detection by probing. A node's status subject has a subscriber exactly while that
 * node's connection is open on some NATS server, and the servers drop a connection's
 * subscriptions the moment its socket closes (a SIGKILL, a crash). A request to a subject nobody
 * subscribes to is answered at once with *no responders*. So two probes of a peer, both
 * answered "no responders" at least `confirmAfter` apart, show its connection gone for that long
 * — longer than a live node takes to reconnect to another server when its own server dies — and
 * the peer is declared gone without waiting for its membership record to age out.
 *
 * Only that answer counts. A timeout (a busy node, a slow link, our own reconnect) or any other
 * error never moves a peer toward departure, and any answer clears the suspicion. Correctness
 * does not rest on the verdict: a wrongly declared node only loses its shards, which the fences
 * (its lease, the map's CAS, the event store's expected version) keep safe, and it rejoins.
 */
import type { Clock, TimerHandle } from "../src/clock.js";

/** What one probe learned: `absent` only for a definitive *no responders*. */
export type ProbeResult = "alive" | "absent" | "unknown";

export interface FailureDetectorOptions {
  clock: Clock;
  /** Asks one peer (its status subject); must not reject. */
  probe: (id: string) => Promise<ProbeResult>;
  /** The peers to watch now (asked on every round). */
  targets: () => readonly string[];
  /** A peer's connection is confirmed gone. Called again on later rounds while it stays a target. */
  onGone: (id: string) => void;
  /** Time between probe rounds, ms. */
  interval: number;
  /** A peer is gone once it has been absent on two probes at least this far apart, ms. */
  confirmAfter: number;
}

/** The first "no responders" of a peer not answered since, with its time. */
interface Suspicion {
  since: number;
  timer: TimerHandle | undefined;
}

/** Probes a changing set of peers; see the module comment. Not restartable. */
export class FailureDetector {
  private readonly suspects = new Map<string, Suspicion>();
  private readonly inFlight = new Set<string>();
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly opts: FailureDetectorOptions) {
    if (!(opts.interval > 0) || !(opts.confirmAfter > 0)) throw new RangeError("need interval > 0 and confirmAfter > 0");
  }

  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.round();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    for (const s of this.suspects.values()) s.timer?.cancel();
    this.suspects.clear();
  }

  /** Something else saw `id` unreachable (a forward with no responders): probe it now, not at the next round. */
  suspect(id: string): void {
    if (!this.stopped) this.probe(id);
  }

  /** Peers absent on their last probe, not yet confirmed. */
  get suspected(): string[] {
    return [...this.suspects.keys()];
  }

  private round(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.setTimeout(() => this.round(), this.opts.interval);
    const targets = new Set(this.opts.targets());
    for (const [id, s] of this.suspects) {
      if (targets.has(id)) continue;
      s.timer?.cancel();
      this.suspects.delete(id);
    }
    for (const id of targets) this.probe(id);
  }

  private probe(id: string): void {
    if (this.inFlight.has(id)) return;
    this.inFlight.add(id);
    const sentAt = this.opts.clock.now();
    void this.opts
      .probe(id)
      .catch((): ProbeResult => "unknown")
      .then((result) => {
        this.inFlight.delete(id);
        if (!this.stopped) this.judge(id, result, sentAt);
      });
  }

  /**
   * The first "no responders" counts from when it was *received*, a later one from when it was
   * *sent*: two answers that far apart bound the gap between the moments the server found no
   * subscriber, whatever either request spent on the way.
   */
  private judge(id: string, result: ProbeResult, sentAt: number): void {
    const now = this.opts.clock.now();
    let s = this.suspects.get(id);
    if (result !== "absent") {
      // Anything but no responders means a subscriber existed, or that we cannot tell.
      s?.timer?.cancel();
      this.suspects.delete(id);
      return;
    }
    if (s === undefined) {
      s = { since: now, timer: undefined };
      this.suspects.set(id, s);
    } else if (sentAt - s.since >= this.opts.confirmAfter) {
      s.timer?.cancel();
      this.suspects.delete(id);
      if (this.opts.targets().includes(id)) this.opts.onGone(id);
      return;
    }
    s.timer ??= this.opts.clock.setTimeout(() => this.confirm(id), s.since + this.opts.confirmAfter - now);
  }

  /** The confirming probe; if one is still on its way, its answer re-arms this when it came too early. */
  private confirm(id: string): void {
    const s = this.suspects.get(id);
    if (s === undefined || this.stopped) return;
    s.timer = undefined;
    this.probe(id);
  }
}
