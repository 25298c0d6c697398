/**
 * Leader election on one KV key, "leader": `create` wins, `update` on the last revision renews,
 * the TTL (and the candidates' timers) take a dead leader's key away; the winning create's
 * revision is the epoch, the fencing token every plan carries.
 *
 * **Why leaderships never overlap.** A leader leads only while `now < sentAt + leaderTtl -
 * safetyMargin`, `sentAt` being when it *sent* its last successful create/update; a timer steps it
 * down then, and {@link LeaderElection.isLeader} reads the clock, so a leader waking from SIGSTOP
 * with its timers late is already out. That write reached the server at or after `sentAt`, so:
 * - a candidate counts `leaderTtl` from when it *observed* that revision (later still), then takes
 *   over with a CAS delete of exactly that revision and a create: at least `safetyMargin` after
 *   the leader's end. A renewal it has not seen yet makes the CAS fail;
 * - the server expires the value `leaderTtl` after storing it: also after the leader's end.
 * Each side measures a duration on its own clock: clocks need not agree, only tick at about the
 * same rate. `safetyMargin` covers rate drift and the gap between `isLeader()` and a fenced write.
 * {@link LeaderElection.presumeGone} skips the wait when the holder's connection is known closed.
 */
import type { Clock, TimerHandle } from "../src/clock.js";
import { decodeJson, encodeJson } from "../src/codec/json.js";
import { ShoalError } from "../src/errors.js";
import { type Logger, silentLogger } from "../src/log.js";
import type { Kv, KvChange, KvWatch } from "./kv.js";

/** How one node takes part in the election. */
export interface ElectionOptions {
  /** The election bucket, opened with `ttl = leaderTtl`. */
  kv: Kv;
  nodeId: string;
  clock: Clock;
  /** Lease length, ms. */
  leaderTtl: number;
  /** Time between renewals, ms; well inside the TTL, e.g. `leaderTtl / 3`. */
  renewInterval: number;
  /** The leader gives up this long before its lease could run out anywhere else. Default `leaderTtl / 10`. */
  safetyMargin?: number;
  logger?: Logger;
}

export type ElectionEvent =
  | { kind: "elected"; epoch: number }
  | { kind: "stepped-down"; epoch: number; reason: string }
  /** What this node believes about the current leader (any node), on change. */
  | { kind: "leader"; leader: string | undefined; epoch: number | undefined };

const KEY = "leader";

/** The key's holder as last observed, with the local time of that observation. */
type Seen = { revision: number; at: number; id: string | undefined; epoch: number };

/** One node's part in the election. Not restartable: after {@link stop}, make a new one. */
export class LeaderElection {
  private readonly kv: Kv;
  private readonly clock: Clock;
  private readonly id: string;
  private readonly ttl: number;
  private readonly renewEvery: number;
  private readonly margin: number;
  private readonly log: Logger;
  private readonly listeners = new Set<(e: ElectionEvent) => void>();
  private state: "idle" | "candidate" | "leader" | "stopped" = "idle";
  /** Bumped on every change of role, so replies to an older role's requests are recognised. */
  private term = 0;
  private lease: { epoch: number; revision: number; sentAt: number } | undefined;
  private seen: Seen | undefined;
  private seenRevision = 0;
  private creating = false;
  /** No new candidacy before this time (after a failure or a step-down); `holdUntil`: after a step-down only. */
  private retryAt = 0;
  private holdUntil = 0;
  /** Candidate: the next attempt. Leader: the next renewal, or the lease's end while a renewal is on its way. */
  private timer: TimerHandle | undefined;
  private watcher: KvWatch | undefined;
  private belief: { id: string; epoch: number } | undefined;
  /** Epochs this instance won: a key carrying one of them is a late write of ours, free to delete. */
  private readonly epochs = new Set<number>();

  constructor(opts: ElectionOptions) {
    ({ kv: this.kv, clock: this.clock, nodeId: this.id, leaderTtl: this.ttl, renewInterval: this.renewEvery } = opts);
    this.margin = opts.safetyMargin ?? opts.leaderTtl / 10;
    this.log = (opts.logger ?? silentLogger).child({ part: "election" });
    const ok = this.margin >= 0 && this.renewEvery > 0 && this.renewEvery < this.ttl - this.margin;
    if (!ok) throw new RangeError(`need 0 < renewInterval < leaderTtl - safetyMargin, got ${this.renewEvery}, ${this.ttl}, ${this.margin}`);
  }

  /** Watches the leader key and campaigns. Rejects (and may be called again) if the watch cannot start. */
  async start(): Promise<void> {
    if (this.state !== "idle") throw new Error("election already started");
    this.state = "candidate";
    const term = this.term;
    const watcher = await this.kv
      .watch((c) => this.onWatch(c), KEY)
      .catch((err: unknown) => {
        if (term === this.term) this.state = "idle";
        throw err;
      });
    if (term !== this.term) return watcher.stop(); // stopped meanwhile
    this.watcher = watcher;
    this.schedule();
  }

  /** Stops campaigning; a leader deletes its key (CAS on its revision) so another wins at once. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const lease = this.state === "leader" ? this.lease : undefined;
    const held = lease?.revision ?? (this.ours(this.seen) ? this.seen?.revision : undefined);
    this.state = "stopped";
    this.term++;
    this.timer?.cancel();
    this.watcher?.stop();
    if (lease !== undefined) this.emit({ kind: "stepped-down", epoch: lease.epoch, reason: "stopped" });
    if (held !== undefined) await this.release(held);
  }

  /** True only while the lease is certainly ours; check before every leader action. */
  isLeader(): boolean {
    return this.state === "leader" && this.lease !== undefined && this.clock.now() < this.leaseEnd(this.lease.sentAt);
  }

  /** Our epoch while leader. */
  get epoch(): number | undefined {
    return this.state === "leader" ? this.lease?.epoch : undefined;
  }

  /** The last known leader (this node while it leads). */
  get leader(): { id: string; epoch: number } | undefined {
    return this.belief === undefined ? undefined : { ...this.belief };
  }

  /** Subscribes to election events; returns the unsubscribe function. */
  onChange(listener: (e: ElectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Stops leading at once (e.g. a fenced write failed), releases the key and campaigns again later. */
  stepDown(reason: string): void {
    if (this.state === "leader") this.lose(reason);
  }

  /**
   * `id` is gone (the failure detector found its connection closed): if it holds the key as last
   * observed, stop waiting out its lease (and the back-off of a race lost to it, so a leader killed
   * right after its election is replaced as fast as any) and campaign now, with the same CAS delete of exactly
   * that revision and create. A renewal we have not seen yet makes the delete fail and the create
   * lose, so a live leader keeps the key. A leader that is alive but unreachable (a partition
   * between NATS servers) may believe it leads until its next renewal fails on the deleted key;
   * meanwhile its map writes are fenced by the map's CAS and epoch, as after any takeover.
   */
  presumeGone(id: string): void {
    const s = this.seen;
    if (this.state !== "candidate" || s === undefined || s.id !== id || this.ours(s)) return;
    this.log.info({ leader: id, revision: s.revision }, "the leader's connection is gone; campaigning without waiting for its lease");
    this.seen = { ...s, at: this.clock.now() - this.ttl };
    // Nor the back-off of a race lost to it (a renew interval): that was for a live winner.
    this.retryAt = Math.min(this.retryAt, this.clock.now());
    this.schedule();
  }

  /**
   * A late write of this instance (e.g. a renewal answered after we stepped down), free to delete. Our id
   * with another epoch is a previous process's: it may be alive (paused), so it gets the full TTL.
   */
  private ours(s: Seen | undefined): boolean {
    return s !== undefined && s.id === this.id && this.epochs.has(s.epoch);
  }

  private leaseEnd = (sentAt: number): number => sentAt + this.ttl - this.margin;

  private onWatch(c: KvChange): void {
    if (this.state !== "candidate" && this.state !== "leader") return;
    const revision = c.kind === "put" ? c.entry.revision : c.revision;
    if (revision <= this.seenRevision) return;
    this.seenRevision = revision;
    if (c.kind === "delete") {
      this.seen = undefined;
      this.retryAt = this.holdUntil; // a free key is worth trying at once, unless we just resigned
      if (this.state === "leader") this.lose("the leader key was deleted");
    } else {
      const v = decode(c.entry.value);
      if (v === undefined) this.log.warn({ revision }, "undecodable leader key; treating it as held by an unknown node");
      this.seen = { revision, at: this.clock.now(), id: v?.id, epoch: v?.epoch ?? revision };
      // Our own renewal may be seen before its reply; anyone else's write means we lost the key.
      if (this.state === "leader" && v?.id !== this.id) this.lose(`the leader key was taken by ${v?.id ?? "?"}`);
    }
    this.updateBelief();
    if (this.state === "candidate") this.schedule();
  }

  /** Candidate: arms the single timer for the next attempt, or attempts now. */
  private schedule(): void {
    this.timer?.cancel();
    if (this.state !== "candidate" || this.creating) return;
    const seen = this.seen;
    const due = seen === undefined || this.ours(seen) ? this.retryAt : Math.max(this.retryAt, seen.at + this.ttl);
    const wait = due - this.clock.now();
    if (wait <= 0) void this.campaign();
    else this.timer = this.clock.setTimeout(() => void this.campaign(), wait);
  }

  private async campaign(): Promise<void> {
    if (this.state !== "candidate" || this.creating) return;
    const seen = this.seen;
    if (seen !== undefined && !this.ours(seen) && this.clock.now() < seen.at + this.ttl) return this.schedule();
    const term = this.term;
    this.creating = true;
    try {
      // CAS: if the holder renewed meanwhile, this fails and so does the create below.
      if (seen !== undefined) await this.kv.delete(KEY, seen.revision).catch(() => undefined);
      const sentAt = this.clock.now();
      const revision = await this.kv.create(KEY, encodeJson({ id: this.id }));
      // Stopped meanwhile, or the reply came too late to lead on: give the key back.
      if (term !== this.term || this.clock.now() >= this.leaseEnd(sentAt)) void this.release(revision);
      else this.win(revision, sentAt);
    } catch (err) {
      if (term !== this.term) return;
      this.retryAt = this.clock.now() + this.renewEvery;
      if (!ShoalError.is(err, "CONFLICT")) return this.log.warn({ err }, "could not campaign; retrying");
      // Lost the race: read the holder, in case the watch has not reported it yet.
      const entry = await this.kv.get(KEY).catch(() => undefined);
      if (entry !== undefined) this.onWatch({ kind: "put", entry });
    } finally {
      this.creating = false;
      if (term === this.term) this.schedule();
    }
  }

  private win(revision: number, sentAt: number): void {
    this.term++;
    this.state = "leader";
    this.lease = { epoch: revision, revision, sentAt };
    this.epochs.add(revision);
    this.observeOwn(revision);
    this.armRenewal();
    this.log.info({ epoch: revision }, "elected leader");
    this.emit({ kind: "elected", epoch: revision });
    this.updateBelief();
  }

  /** A reply may beat the watch's report of older changes (the delete that freed the key): skip those. */
  private observeOwn(revision: number): void {
    if (revision <= this.seenRevision) return;
    this.seenRevision = revision;
    this.seen = { revision, at: this.clock.now(), id: this.id, epoch: this.lease!.epoch };
  }

  private armRenewal(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => void this.renew(), Math.max(0, this.lease!.sentAt + this.renewEvery - this.clock.now()));
  }

  private async renew(): Promise<void> {
    if (this.state !== "leader") return;
    if (!this.isLeader()) return this.lose("lease ran out before renewal");
    const lease = this.lease!;
    const term = this.term;
    const sentAt = this.clock.now();
    // Renewals never overlap, so while one is on its way the timer only watches the lease's end.
    this.timer = this.clock.setTimeout(() => {
      if (term === this.term) this.lose("lease ran out: renewal not confirmed in time");
    }, this.leaseEnd(lease.sentAt) - sentAt);
    try {
      const revision = await this.kv.update(KEY, encodeJson({ id: this.id, epoch: lease.epoch }), lease.revision);
      if (term !== this.term) return void this.release(revision); // stepped down meanwhile
      lease.revision = revision;
      lease.sentAt = sentAt;
      this.observeOwn(revision);
      this.armRenewal();
    } catch (err) {
      if (term !== this.term) return;
      this.lose(`renewal failed: ${ShoalError.is(err) ? err.code : String(err)}`);
    }
  }

  /** Leader → candidate at once; frees the key (best effort) and waits a round before campaigning. */
  private lose(reason: string): void {
    const lease = this.lease!;
    this.term++;
    this.state = "candidate";
    this.timer?.cancel();
    this.retryAt = this.holdUntil = this.clock.now() + this.renewEvery; // let another node win first
    this.log.warn({ epoch: lease.epoch, reason }, "stepped down");
    this.emit({ kind: "stepped-down", epoch: lease.epoch, reason });
    void this.release(lease.revision);
    this.updateBelief();
    this.schedule();
  }

  /** Deletes the key if it is still at `revision`; a failure is harmless (the TTL frees it). */
  private release(revision: number): Promise<void> {
    return this.kv.delete(KEY, revision).catch((err: unknown) => this.log.debug({ err, revision }, "could not release the leader key"));
  }

  private updateBelief(): void {
    const s = this.seen;
    const mine = this.state === "leader" ? this.lease : undefined;
    const other = s?.id !== undefined && !this.ours(s) ? { id: s.id, epoch: s.epoch } : undefined;
    const next = mine !== undefined ? { id: this.id, epoch: mine.epoch } : other;
    if (next?.id === this.belief?.id && next?.epoch === this.belief?.epoch) return;
    this.belief = next;
    this.emit({ kind: "leader", leader: next?.id, epoch: next?.epoch });
  }

  private emit(e: ElectionEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err, event: e.kind }, "election listener threw");
      }
    }
  }
}

function decode(bytes: Uint8Array): { id: string; epoch: number | undefined } | undefined {
  try {
    const v = decodeJson(bytes) as { id?: unknown; epoch?: unknown } | null;
    return typeof v?.id === "string" ? { id: v.id, epoch: Number.isSafeInteger(v.epoch) ? (v.epoch as number) : undefined } : undefined;
  } catch {
    return undefined;
  }
}
