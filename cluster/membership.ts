/**
 * Membership: every node keeps its record in one KV bucket (key = `memberKey(id)`, the id's token), refreshed
 * by a heartbeat `put`; a watch turns the bucket into a live view and joined / left / updated
 * events. The bucket's per-key TTL drops a record that stops being refreshed, but expiry sends
 * no watch event, so each node also sweeps its view: a record not written for `memberTtl`
 * (measured on the local clock from when the write was *received*) has left.
 *
 * This node's own record is kept locally, never read back: it is always in the view while the
 * node runs, and {@link Membership.setState} changes it at once. Only its deletion is heeded:
 * another node declared this one gone ({@link Membership.declareGone}), so it loses its lease
 * and rejoins.
 */
import type { Clock, TimerHandle } from "../src/clock.js";
import { encodeJson } from "../src/codec/json.js";
import { type Logger, silentLogger } from "../src/log.js";
import { memberKey } from "../src/nats-names.js";
import type { Kv, KvChange, KvWatch } from "./kv.js";
import { copyRecord, decodeMemberRecord, type MemberRecord, sameRecord, validRecord } from "./member-record.js";
import type { Member } from "./placement.js";

export { decodeMemberRecord, type MemberRecord } from "./member-record.js";

export interface MembershipOptions {
  /** The members bucket, opened with `ttl = memberTtl`. */
  kv: Kv;
  clock: Clock;
  /** This node's record as first published. */
  self: MemberRecord;
  /** Time between heartbeats (and sweeps), ms; well inside `memberTtl`. */
  heartbeatInterval: number;
  /** A record not refreshed for this long means its node left, ms. */
  memberTtl: number;
  logger?: Logger;
}

/** One change of the view. `updated` lists records whose content changed (not plain heartbeats). */
export interface MembershipChange {
  joined: MemberRecord[];
  left: string[];
  updated: MemberRecord[];
}

/** This node's membership and its view of the others. Not restartable: after {@link stop}, make a new one. */
export class Membership {
  private readonly kv: Kv;
  private readonly clock: Clock;
  private readonly interval: number;
  private readonly ttl: number;
  private readonly log: Logger;
  private readonly key: string;
  private me: MemberRecord;
  /** Other members by key, with the local time their last write was received. */
  private readonly view = new Map<string, { record: MemberRecord; seenAt: number; revision: number }>();
  private readonly listeners = new Set<(c: MembershipChange) => void>();
  private state: "idle" | "starting" | "running" | "stopped" = "idle";
  private timer: TimerHandle | undefined;
  private watcher: KvWatch | undefined;
  private beating = false;
  /** When the last heartbeat that reached the KV was sent (clock ms); the lease runs from there. */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private lapseCount = 0;
  /** When our own heartbeat was last seen on the watch. */
  private echoAt = Number.NEGATIVE_INFINITY;
  private resyncing = false;

  constructor(opts: MembershipOptions) {
    ({ kv: this.kv, clock: this.clock, heartbeatInterval: this.interval, memberTtl: this.ttl } = opts);
    this.log = (opts.logger ?? silentLogger).child({ part: "membership" });
    if (validRecord(opts.self) === undefined) throw new RangeError(`invalid member record ${JSON.stringify(opts.self)}`);
    if (!(this.interval > 0 && this.interval < this.ttl)) throw new RangeError("need 0 < heartbeatInterval < memberTtl");
    this.me = { ...opts.self };
    this.key = memberKey(opts.self.id);
  }

  /** Writes the first heartbeat and loads the view; rejects (and may be retried) if the KV fails. */
  async start(): Promise<void> {
    if (this.state !== "idle") throw new Error("membership already started");
    this.state = "starting";
    // Everything the watch reports before it resolves is the initial view: one change, not many.
    const initial: KvChange[] = [];
    let loading = true;
    try {
      const sentAt = this.clock.now();
      await this.kv.put(this.key, encodeJson(this.me));
      this.confirm(sentAt);
      this.watcher = await this.kv.watch((c) => (loading ? initial.push(c) : this.onWatch(c)));
    } catch (err) {
      if (this.is("starting")) this.state = "idle";
      throw err;
    }
    loading = false;
    if (!this.is("starting")) return void this.watcher.stop(); // stopped meanwhile
    this.state = "running";
    for (const c of initial) this.apply(c);
    this.emit({ joined: this.records(), left: [], updated: [] });
    this.arm();
  }

  /** Stops heartbeats and deletes this node's record, so the others see it leave at once. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const started = this.state !== "idle";
    this.state = "stopped";
    this.timer?.cancel();
    this.watcher?.stop();
    if (!started) return;
    await this.kv.delete(this.key).catch((err: unknown) => this.log.warn({ err }, "could not delete own member record; it expires by TTL"));
  }

  /** Changes this node's state in the view at once and writes it; rejects if the write fails (heartbeats retry it). */
  async setState(state: MemberRecord["state"]): Promise<void> {
    if (state === this.me.state) return;
    this.me = { ...this.me, state };
    this.emit({ joined: [], left: [], updated: [this.self] });
    if (this.state === "running") await this.kv.put(this.key, encodeJson(this.me));
  }

  /** This node's record as it stands (a copy). */
  get self(): MemberRecord {
    return copyRecord(this.me);
  }

  /** The live view, this node included, sorted by id. */
  records(): MemberRecord[] {
    const all = [this.self, ...[...this.view.values()].map((e) => copyRecord(e.record))];
    return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The view as placement sees it. */
  members(): Member[] {
    return this.records().map(({ id, weight, state, roles }) => (roles === undefined ? { id, weight, state } : { id, weight, state, roles }));
  }

  /** Subscribes to view changes; returns the unsubscribe function. */
  onChange(listener: (c: MembershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Reads the state unnarrowed (it may change across an await). */
  private is(state: Membership["state"]): boolean {
    return this.state === state;
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.tick(), this.interval);
  }

  private tick(): void {
    if (this.state !== "running") return;
    this.arm();
    // Heartbeats reach the KV but our own no longer come back on the watch: the watch is stale
    // (its consumer lived on a NATS server that died). Rebuild the view from the bucket before
    // the sweep would declare everyone gone, and start a new watch.
    const now = this.clock.now();
    if (!this.resyncing && now - this.echoAt > 1.5 * this.interval && this.holdsLease()) void this.resync();
    // No sweeping on a view we know to be stale: the resync refreshes it first.
    if (!this.resyncing) this.sweep();
    if (this.beating) return; // the previous heartbeat is still on its way: do not pile up
    this.beating = true;
    void this.beatLogged().finally(() => (this.beating = false));
  }

  /**
   * Sends a heartbeat now, even if the last one is still on its way: after a reconnect, a put
   * sent before it may never be answered (its reply went to a connection that is gone), and
   * waiting out its timeout would keep the lease lapsed for seconds with the link already back.
   */
  beatNow(): void {
    if (this.state === "running") void this.beatLogged();
  }

  /** A heartbeat whose failure is only logged: the next interval tries again. */
  private beatLogged(): Promise<void> {
    return this.beat().catch((err: unknown) => this.log.warn({ err }, "heartbeat failed; retrying at the next interval"));
  }

  private async beat(): Promise<void> {
    const sentAt = this.clock.now();
    // A heartbeat sent after the lease ran out (a long pause) renews it, but the others may have
    // declared us gone meanwhile: count it, so the node re-reads the map before trusting its own.
    if (sentAt >= this.confirmedAt + this.ttl - this.ttl / 10) this.lapseCount++;
    await this.kv.put(this.key, encodeJson(this.me));
    this.confirm(sentAt);
  }

  private confirm(sentAt: number): void {
    if (sentAt > this.confirmedAt) this.confirmedAt = sentAt;
  }

  /**
   * True while this node's membership is certainly alive in the others' eyes: its last heartbeat
   * that reached the KV was sent less than `memberTtl − margin` ago. A node past that point may
   * already have been declared gone and its shards given away; it must not act as an owner until
   * {@link reconfirm} succeeds. Like the leader lease, measured from send time on the local clock.
   */
  holdsLease(margin = this.ttl / 10): boolean {
    return this.state === "running" && this.clock.now() < this.confirmedAt + this.ttl - margin;
  }

  /** How many times the lease ran out before a heartbeat renewed it (see {@link holdsLease}). */
  get lapses(): number {
    return this.lapseCount;
  }

  /** Writes a heartbeat now (e.g. after waking from a pause); resolves once the lease is renewed. */
  async reconfirm(): Promise<void> {
    if (this.state !== "running") throw new Error("membership is not running");
    await this.beat();
  }

  /**
   * Re-reads the bucket and starts a new watch, now (see the silent-watch resync): after a lapse
   * the view may have swept members that were alive all along, because this node heard nothing.
   * Resolves once the view is the bucket's again (or the read failed and was logged).
   */
  async refreshView(): Promise<void> {
    if (this.state !== "running" || this.resyncing) return;
    await this.resync();
  }

  /**
   * Declares member `id` gone now, without waiting for its record to age out: its failure was
   * confirmed some other way (the failure detector). The delete is a compare-and-set on the
   * revision this view holds, so a record the member rewrote meanwhile (it is alive) stays, and
   * resolves false. Every node's watch then reports the delete as a departure.
   */
  async declareGone(id: string): Promise<boolean> {
    const key = memberKey(id);
    const entry = this.view.get(key);
    if (this.state !== "running" || key === this.key || entry === undefined) return false;
    try {
      await this.kv.delete(key, entry.revision);
    } catch (err) {
      this.log.info({ member: id, err: (err as Error)?.message }, "did not declare a member gone: its record changed or the KV failed");
      return false;
    }
    this.log.warn({ member: id, revision: entry.revision }, "declared a member gone: its connection to NATS is");
    if (this.view.get(key) === entry) {
      this.view.delete(key);
      this.emit({ joined: [], left: [id], updated: [] });
    }
    return true;
  }

  /**
   * Someone deleted our record while we run: we were declared gone (or the record expired) and
   * our shards may be given away. Lose the lease at once, so the owner fence refuses every turn
   * until a heartbeat has put the record back and the map has been re-read; count it as a lapse.
   */
  private declaredGone(): void {
    this.log.warn("our membership record was deleted: declared gone; rejoining");
    this.confirmedAt = Number.NEGATIVE_INFINITY;
    this.beatNow(); // sent past the lease's end: counts the lapse (see beat)
  }

  private async resync(): Promise<void> {
    this.resyncing = true;
    try {
      this.log.warn({ silentMs: this.clock.now() - this.echoAt }, "membership watch is silent; re-reading the bucket");
      this.watcher?.stop();
      const initial: KvChange[] = [];
      let loading = true;
      const watcher = await this.kv.watch((c) => (loading ? initial.push(c) : this.onWatch(c)));
      loading = false;
      if (this.state !== "running") return void watcher.stop();
      this.watcher = watcher;
      this.echoAt = this.clock.now();
      // What the new watch reports now is the truth: refresh everyone it shows (the sweep keeps
      // dropping those it does not), without reporting plain heartbeats as changes.
      const joined: MemberRecord[] = [];
      const updated: MemberRecord[] = [];
      for (const c of initial) {
        const change = this.apply(c);
        if (change !== undefined) {
          joined.push(...change.joined);
          updated.push(...change.updated);
        }
      }
      if (joined.length + updated.length > 0) this.emit({ joined, left: [], updated });
    } catch (err) {
      this.log.warn({ err: (err as Error)?.message }, "membership resync failed; retrying at the next heartbeat");
    } finally {
      this.resyncing = false;
    }
  }

  /** Records not written for memberTtl are gone: their TTL has expired on the server too. */
  private sweep(): void {
    const now = this.clock.now();
    const left: string[] = [];
    for (const [key, e] of this.view) {
      if (now - e.seenAt < this.ttl) continue;
      this.view.delete(key);
      left.push(e.record.id);
    }
    if (left.length > 0) this.emit({ joined: [], left, updated: [] });
  }

  private onWatch(c: KvChange): void {
    if (this.state !== "running") return;
    const change = this.apply(c);
    if (change !== undefined) this.emit(change);
  }

  /** Applies one watch report to the view; returns what changed. */
  private apply(c: KvChange): MembershipChange | undefined {
    const key = c.kind === "put" ? c.entry.key : c.key;
    if (key === this.key) {
      // Our own heartbeat coming back: the proof that the watch still delivers (see tick).
      this.echoAt = this.clock.now();
      if (c.kind === "delete" && this.state === "running") this.declaredGone();
      return undefined; // our own record is ours to know, not to read back
    }
    const prev = this.view.get(key);
    if (c.kind === "delete") {
      if (prev === undefined) return undefined;
      this.view.delete(key);
      return { joined: [], left: [prev.record.id], updated: [] };
    }
    const record = decodeMemberRecord(c.entry.value);
    if (record === undefined || memberKey(record.id) !== key) {
      this.log.warn({ key, revision: c.entry.revision }, "ignoring an invalid member record");
      return undefined;
    }
    this.view.set(key, { record, seenAt: this.clock.now(), revision: c.entry.revision });
    if (prev === undefined) return { joined: [copyRecord(record)], left: [], updated: [] };
    return sameRecord(prev.record, record) ? undefined : { joined: [], left: [], updated: [copyRecord(record)] };
  }

  private emit(c: MembershipChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(c);
      } catch (err) {
        this.log.error({ err }, "membership listener threw");
      }
    }
  }
}
