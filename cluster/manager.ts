import type { Clock, TimerHandle } from "../src/clock.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { type Logger, silentLogger } from "../src/log.js";
import type { LeaderElection } from "./election.js";
import { ClusterEvents } from "./events.js";
import type { ShardMapStore, StoredMap } from "./map-store.js";
import type { Membership } from "./membership.js";
import { layoutGroups, sameGroups } from "./groups.js";
import { balanceLoad, type Relief } from "./load-balance.js";
import { layoutPins, type PinRequest, samePins } from "./pins.js";
import { plan, stage } from "./plan.js";

export interface ManagerOptions {
  election: LeaderElection;
  membership: Membership;
  maps: ShardMapStore;
  events: ClusterEvents;
  clock: Clock;
  shardCount: number;
  /** Quiet time after a membership change before planning, so a burst of joins yields one plan. */
  debounce: number;
  /** Longest a steady stream of changes may delay a plan. Default 4 × debounce. */
  maxDelay?: number;
  /**
   * Most live handoffs one map starts (moves of orphaned shards are never held back). A map
   * pauses every shard it takes from a live member at once, so this bounds how long a shard
   * waits paused for its turn; the rest move in later maps, each published once the handoffs of
   * the one before have ended (see {@link ShardManager.migrationEnded}). Default: one in twenty
   * of the shards, at least 3 — so a step carries about 5% of the cluster's actors whatever the
   * shard count, and a join to 1024 shards takes a handful of maps, not a hundred.
   */
  maxHandoffsPerMap?: number;
  /** Longest the leader waits for a map's handoffs to end before it publishes the next step anyway. Default 5 s. */
  stepTimeout?: number;
  /** Load-aware rebalancing (off when absent). */
  loadBalance?: LoadBalancing;
  /** The tenant pins wanted now (the pins bucket); none when absent. */
  pins?: () => readonly PinRequest[];
  /** The latest load per shard (turns/s) the nodes reported; needed with {@link loadBalance}. */
  shardLoad?: () => ReadonlyMap<number, number>;
  logger?: Logger;
}

/**
 * Load-aware rebalancing on the leader (`balanceLoad`): every `interval` ms, while no
 * membership plan is in progress, it swaps hot shards off members whose load exceeds `factor` ×
 * their fair share of their group's, at most `maxMoves` moves a time, each a live handoff.
 */
export interface LoadBalancing {
  /** Overloaded above this × the member's fair share (> 1). */
  factor: number;
  /** Most shard moves per interval (each swap is two). Default 8. */
  maxMoves?: number;
  /** How often the leader looks (ms). Default 10 s. */
  interval?: number;
  /** A shard moved for load is not moved for load again within this (ms). Default 60 s. */
  cooldown?: number;
  /** A group with less total load (turns/s) is left alone. Default 10. */
  minLoad?: number;
}

/** The last step published and how many handoffs it started (how many ended: {@link ShardManager.endedOf}). */
interface Step {
  version: number;
  handoffs: number;
  timer: TimerHandle;
}

/**
 * The leader's half of the cluster: turns membership changes into a new shard map and writes it
 * with compare-and-set on the map's revision, stamped with the leader's epoch. A follower's
 * manager does nothing. On election the new leader writes a map at once (even with no moves), so
 * its epoch is on the map and any older leader's pending write fails its compare-and-set.
 */
export class ShardManager {
  private readonly log: Logger;
  private readonly maxDelay: number;
  private timer: TimerHandle | undefined;
  private firstChangeAt: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private step: Step | undefined;
  /** Ended moves per recent map version (an event may come before the write's ack does). */
  private readonly endedByVersion = new Map<number, number>();
  private readonly maxHandoffs: number;
  private readonly stepTimeout: number;
  private readonly unsubscribe: Array<() => void> = [];
  private loadTimer: TimerHandle | undefined;
  /** Shards moved for load, and when: not moved for load again within the cool-down. */
  private readonly movedForLoad = new Map<number, number>();
  /** Members whose relief the last look's move budget cut short: the next look takes them on down to the settle line. */
  private relieving: readonly Relief[] = [];

  constructor(private readonly opts: ManagerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.maxDelay = opts.maxDelay ?? 4 * opts.debounce;
    this.maxHandoffs = opts.maxHandoffsPerMap ?? Math.max(3, Math.floor(opts.shardCount / 20));
    this.stepTimeout = opts.stepTimeout ?? 5000;
    if (!(this.maxHandoffs >= 1) || !(this.stepTimeout > 0) || !Number.isFinite(this.stepTimeout)) {
      throw new RangeError(`maxHandoffsPerMap must be at least 1 and stepTimeout a positive number of ms (got ${this.maxHandoffs}, ${this.stepTimeout})`);
    }
  }

  /**
   * A shard move of map `mapVersion` ended at its source (a `migration` event, completed or
   * failed). Once every handoff of the step the leader is waiting on has ended, it plans the
   * next step at once. Events are advisory: a lost or forged one only moves the next step
   * earlier or later (by `stepTimeout` at most), never changes what a map says.
   */
  migrationEnded(mapVersion: number): void {
    if (!this.opts.election.isLeader()) return;
    this.endedByVersion.set(mapVersion, this.endedOf(mapVersion) + 1);
    while (this.endedByVersion.size > 16) this.endedByVersion.delete(Math.min(...this.endedByVersion.keys()));
    const step = this.step;
    if (step !== undefined && mapVersion === step.version && this.endedOf(mapVersion) >= step.handoffs) this.nextStep();
  }

  /** Handoffs of map `version` that have reported their end. */
  private endedOf(version: number): number {
    return this.endedByVersion.get(version) ?? 0;
  }

  private nextStep(): void {
    this.step?.timer.cancel();
    this.step = undefined;
    // A membership change waiting out its debounce plans the next step itself.
    if (this.opts.election.isLeader() && this.timer === undefined) this.schedule(0);
  }

  start(): void {
    if (this.opts.loadBalance !== undefined) this.armLoad();
    this.unsubscribe.push(
      this.opts.membership.onChange((c) => {
        if (!this.opts.election.isLeader()) return;
        for (const m of c.joined) this.opts.events.publish({ type: "member.joined", member: m.id, state: m.state });
        for (const m of c.updated) this.opts.events.publish({ type: "member.updated", member: m.id, state: m.state });
        for (const id of c.left) this.opts.events.publish({ type: "member.left", member: id });
        // A departure leaves its shards without an owner until the next map: plan it now. Joins
        // and updates wait out the debounce, so a burst of them becomes one plan.
        this.schedule(c.left.length > 0 ? 0 : this.opts.debounce);
      }),
      this.opts.election.onChange((e) => {
        if (e.kind === "elected") {
          this.opts.events.publish({ type: "leader.elected", epoch: e.epoch });
          // One debounce first: membership changes that led to this election (a leaving leader
          // deletes its record just before it resigns) reach this node's watch meanwhile.
          this.schedule();
        } else if (e.kind === "stepped-down") {
          this.opts.events.publish({ type: "leader.stepped_down", epoch: e.epoch, reason: e.reason });
          this.cancel();
        }
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    this.loadTimer?.cancel();
    for (const u of this.unsubscribe.splice(0)) u();
    await this.running;
  }

  private armLoad(): void {
    const every = this.opts.loadBalance?.interval ?? 10_000;
    this.loadTimer = this.opts.clock.setTimeout(() => {
      if (this.stopped) return;
      // Only between membership plans: nothing running, no step waiting, no change debouncing.
      if (this.opts.election.isLeader() && this.running === undefined && this.step === undefined && this.timer === undefined) {
        this.running = this.balanceForLoad()
          .catch((err: unknown) => this.log.warn({ err }, "load rebalance failed"))
          .finally(() => {
            this.running = undefined;
            if (this.again) {
              this.again = false;
              this.schedule(0);
            }
          });
      }
      this.armLoad();
    }, every);
  }

  /** One look at the load: publishes a map of swaps when a member is overloaded (see `balanceLoad`). */
  private async balanceForLoad(): Promise<void> {
    const lb = this.opts.loadBalance!;
    const { election, maps } = this.opts;
    const epoch = election.epoch;
    const current = await maps.read();
    if (epoch === undefined || current === undefined || current.map.epoch !== epoch) return;
    const members = this.opts.membership.members();
    // A map the count-balanced planner would change is not settled: it goes first.
    if (plan(current.map, members).moves.length > 0) return;
    const now = this.opts.clock.now();
    const cooldown = lb.cooldown ?? 60_000;
    for (const [s, at] of this.movedForLoad) if (now - at >= cooldown) this.movedForLoad.delete(s);
    const out = balanceLoad(current.map, members, this.opts.shardLoad?.() ?? new Map(), {
      factor: lb.factor,
      maxMoves: lb.maxMoves ?? 8,
      minLoad: lb.minLoad,
      recent: new Set(this.movedForLoad.keys()),
      relieving: this.relieving,
    });
    if (out.moves.length === 0) this.relieving = out.relieving;
    if (out.moves.length === 0 || !election.isLeader()) return;
    try {
      await maps.write(out.map, current.revision);
    } catch (err) {
      if (!ShoalError.is(err, ErrorCode.CONFLICT)) throw err;
      await this.afterConflict(epoch);
      return;
    }
    for (const m of out.moves) this.movedForLoad.set(m.shard, now);
    this.relieving = out.relieving;
    this.log.info(
      { version: out.map.version, epoch, moves: out.moves.length, overloaded: out.overloaded, relieving: out.relieving.map((r) => r.member) },
      "shard map published for load",
    );
    this.opts.events.publish(ClusterEvents.mapPublished(out.map.version, epoch, out.moves, { reason: "load", handoffs: out.moves.length }));
    this.awaitStep(out.map.version, out.moves.length);
  }

  /** The pins bucket changed: the leader plans again (after the debounce, like a membership change). */
  pinsChanged(): void {
    if (this.opts.election.isLeader()) this.schedule();
  }

  /** Plans after `delay` ms of quiet (re-armed by every change, but never past maxDelay). */
  private schedule(delay = this.opts.debounce): void {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    this.firstChangeAt ??= now;
    const wait = Math.max(0, Math.min(delay, this.firstChangeAt + this.maxDelay - now));
    this.timer?.cancel();
    this.timer = this.opts.clock.setTimeout(() => this.fire(), wait);
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.firstChangeAt = undefined;
    this.step?.timer.cancel();
    this.step = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.firstChangeAt = undefined;
    if (this.running !== undefined) {
      this.again = true; // one more pass once the current one is done
      return;
    }
    this.running = this.rebalance()
      .catch((err: unknown) => {
        this.log.warn({ err }, "rebalance failed; retrying");
        this.schedule();
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        }
      });
  }

  private async rebalance(): Promise<void> {
    const { election, maps } = this.opts;
    if (!election.isLeader()) return;
    const epoch = election.epoch!;
    const current = await maps.read();
    if (current !== undefined && current.map.epoch > epoch) {
      election.stepDown(`the map carries epoch ${current.map.epoch}, newer than ours (${epoch})`);
      return;
    }
    const members = this.opts.membership.members();
    const shardCount = current?.map.shardCount ?? this.opts.shardCount;
    const announced = this.opts.membership.records().flatMap((r) => (r.typeRoles === undefined ? [] : [r.typeRoles]));
    const layout = layoutGroups(current?.map.groups ?? [], shardCount, announced, current?.map.owners.length ?? shardCount);
    if (layout.refused.length > 0) this.log.warn({ refused: layout.refused }, "actor types bound to roles found no shard group (too many role sets)");
    const groups = layout.groups;
    const afterGroups = groups.reduce((end, g) => Math.max(end, g.base + g.size), current?.map.owners.length ?? shardCount);
    const pinned = layoutPins(current?.map.pins ?? [], this.opts.pins?.() ?? [], afterGroups);
    if (pinned.refused.length > 0) this.log.warn({ refused: pinned.refused.length }, "tenant pins past the most tenant shards a map may have are not applied");
    const pins = pinned.pins;
    const next = stage(current?.map, plan(current?.map, members, { shardCount: this.opts.shardCount, epoch, groups, pins }), members, {
      maxHandoffs: this.maxHandoffs,
    });
    const same = current !== undefined && sameGroups(current.map.groups, groups) && samePins(current.map.pins, pins);
    if (current !== undefined && next.moves.length === 0 && current.map.epoch === epoch && same) return;
    // The lease may have run out while we read and planned (a pause, a slow server).
    if (!election.isLeader()) return;
    let revision: number;
    try {
      revision = await maps.write(next.map, current?.revision);
    } catch (err) {
      if (!ShoalError.is(err, ErrorCode.CONFLICT)) throw err;
      await this.afterConflict(epoch);
      return;
    }
    this.log.info({ version: next.map.version, epoch, moves: next.moves.length, later: next.remaining, revision }, "shard map published");
    this.opts.events.publish(ClusterEvents.mapPublished(next.map.version, epoch, next.moves, { handoffs: next.handoffs }));
    if (next.remaining > 0) this.awaitStep(next.map.version, next.handoffs);
  }

  /** More handoffs wait for later maps: the next step is planned when this one's have ended. */
  private awaitStep(version: number, handoffs: number): void {
    this.step?.timer.cancel();
    const timer = this.opts.clock.setTimeout(() => {
      this.log.info({ version }, "the handoffs of a step did not all report in time; planning the next step anyway");
      this.nextStep();
    }, this.stepTimeout);
    this.step = { version, handoffs, timer };
    if (this.endedOf(version) >= handoffs) this.nextStep();
  }

  /** Someone wrote the map between our read and our write: a newer leader, or our own race. */
  private async afterConflict(epoch: number): Promise<void> {
    const now: StoredMap | undefined = await this.opts.maps.read();
    if (now !== undefined && now.map.epoch > epoch) {
      this.opts.election.stepDown(`map write refused: epoch ${now.map.epoch} wrote it first`);
      return;
    }
    this.schedule(0);
  }
}
