import type { Activation } from "./activation.js";
import type { Pending } from "./pending.js";
import type { OrderEntry } from "./sender-order.js";
import type { CapturedTimer } from "./timers.js";
import type { MailState } from "./outgoing.js";

/** An active actor's state as captured for handoff. */
export interface CapturedActor {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  /** Codec-safe state (the actor type's snapshot / serialize form). */
  readonly state: unknown;
  /** Per-sender order's table, `[sender, next expected]` per sender; absent when no sender has called. */
  readonly order?: OrderEntry[];
  /** Its timers, each with what remains of its delay; absent when none is set. */
  readonly timers?: CapturedTimer[];
  /** Its messages between actors (unacknowledged outgoing ones, the last applied per sender); absent when none. */
  readonly mail?: MailState;
}

/** What a pause needs from the runtime that created it. */
export interface PauseHost {
  /** Activations the selector matches; with `partition`, those of that partition (same set, faster). */
  matchingActivations(selector: Selector, partition?: number): Activation[];
  endPause(group: PausedGroup): void;
  redispatch(p: Pending): void;
  forget(activation: Activation): void;
}

export type Selector = (type: string, id: string) => boolean;

/**
 * A set of actors (a shard, for the migration coordinator) whose turns are stopped. While the
 * group exists, new messages for matching actors are buffered here in arrival order instead of
 * running. The group ends exactly once: {@link resume} (serve here again, replaying the
 * buffer) or {@link release} (the actors leave this node; the caller forwards the buffer).
 */
export class PausedGroup {
  private readonly pending: Pending[] = [];
  private activations: Activation[] = [];
  private ended = false;
  /** Resolves once the turns in flight when the pause began have finished. */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly selector: Selector,
    private readonly host: PauseHost,
    /** Set for groups made by `holdPartition`. */
    readonly partition?: number,
  ) {}

  /** @internal Called by the runtime: stop matching actors and take their queued messages. */
  async begin(): Promise<void> {
    this.activations = this.host.matchingActivations(this.selector, this.partition);
    for (const a of this.activations) {
      a.paused = true;
      for (const p of a.drainAll()) this.pending.push(p);
    }
    await Promise.all(this.activations.map((a) => a.whenIdle()));
    this.pending.sort((x, y) => x.seq - y.seq);
  }

  matches(type: string, id: string): boolean {
    return this.selector(type, id);
  }

  /** @internal A message that arrived while paused. */
  buffer(p: Pending): void {
    this.pending.push(p);
  }

  /** Messages waiting, oldest first (answered ones left out). */
  get buffered(): readonly Pending[] {
    return this.pending.filter((p) => !p.settled);
  }

  /** State and version of every loaded actor in the group; no turn runs meanwhile. */
  capture(): CapturedActor[] {
    const out: CapturedActor[] = [];
    // Fresh: actors adopted after the pause began belong to the group too (nothing reaches them).
    this.activations = this.host.matchingActivations(this.selector, this.partition);
    for (const a of this.activations) {
      // Not loaded, not yet through onActivate (which an adopted actor never runs), or stopping:
      // the destination loads it from the store if it is needed there.
      if (!a.capturable || a.live === undefined) continue;
      const order = a.orderTable();
      const timers = a.timerList();
      const mail = a.mailState();
      const def = a.behavior.def;
      if (def.kind === "event-sourced" && def.snapshotPolicy?.onHandoff === true) a.snapshotIfBehind();
      let actor: CapturedActor = { type: a.key.type, id: a.key.id, version: a.live.version, state: a.behavior.capture(a.live) };
      if (order !== undefined && order.length > 0) actor = { ...actor, order };
      if (timers !== undefined) actor = { ...actor, timers };
      if (mail !== undefined) actor = { ...actor, mail };
      out.push(actor);
    }
    return out;
  }

  /**
   * Serve here again: unpause and run the buffered messages in arrival order, after `before`
   * (a destination puts the tail forwarded by the source ahead of what it held).
   */
  resume(before: readonly Pending[] = []): void {
    if (!this.end()) return;
    this.activations = this.host.matchingActivations(this.selector, this.partition);
    for (const a of this.activations) a.resume();
    for (const p of before) if (!p.settled) this.host.redispatch(p);
    for (const p of this.pending) if (!p.settled) this.host.redispatch(p);
    for (const a of this.activations) a.kick();
  }

  /** The actors leave this node: drop them and hand back the buffered messages, oldest first. */
  release(): Pending[] {
    if (!this.end()) return [];
    for (const a of this.host.matchingActivations(this.selector, this.partition)) this.host.forget(a);
    return this.pending.filter((p) => !p.settled);
  }

  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.host.endPause(this);
    return true;
  }
}
