import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Clock } from "../src/clock.js";
import { clusterSubjects } from "../src/nats-names.js";
import type { Logger } from "../src/log.js";
import type { HotEventBody } from "./hot-watch.js";
import type { Move } from "./placement.js";

/**
 * What happens in a cluster, as it goes out on `shoal.<cluster>.events` (JSON, one event per
 * message). Membership events are published by the leader only, so each appears once; so are
 * `hot` events (actors and shards over their turn-rate thresholds, at most one per
 * `hotEventInterval`).
 */
export type ClusterEventBody =
  | { type: "member.joined"; member: string; state: string }
  | { type: "member.updated"; member: string; state: string }
  | { type: "member.left"; member: string }
  | { type: "leader.elected"; epoch: number }
  | { type: "leader.stepped_down"; epoch: number; reason: string }
  | {
      type: "map.published";
      version: number;
      epoch: number;
      /** Shards the map moves. */
      moves: number;
      /** The first moves, in full. */
      sample: Move[];
      /** Present on a map the load balancer made. */
      reason?: "load";
      /**
       * Of the moves, the handoffs between live members: each ends in one `migration` event from
       * its source. The others (no owner before, or one gone) have nothing to hand over.
       */
      handoffs?: number;
    }
  | ProjectionEventBody
  | HotEventBody
  | {
      type: "migration";
      phase: "completed" | "failed";
      shard: number;
      from: string;
      to: string | null;
      /** Active actors whose state moved. */
      actors: number;
      mapVersion: number;
      /** completed: how long the shard was paused at the source; failed: time until failure. */
      ms: number;
      /** Buffered messages forwarded after the handoff. */
      tail?: number;
      reason?: string;
    };

/** An event with its envelope: which cluster, which node said it, when (the node's clock, ms). */
/**
 * A projection's partition stopped on a failing event (`phase: "stopped"`, with the error: an
 * alert), a build took over reads (`"switched"`), or a rebuild began (`"rebuilding"`).
 */
export interface ProjectionEventBody {
  type: "projection";
  phase: "stopped" | "switched" | "rebuilding";
  projection: string;
  build: number;
  partition?: number;
  error?: string;
}

export type ClusterEvent = ClusterEventBody & { cluster: string; node: string; at: number };

/** Moves listed in full in a `map.published` event; the rest are counted. */
const MOVES_SHOWN = 32;

/**
 * Publishes this node's cluster events on the events subject and logs each one (at info, but
 * migrations at debug).
 */
export class ClusterEvents {
  private readonly subject: string;
  private readonly te = new TextEncoder();

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly nodeId: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.subject = clusterSubjects(cluster).events;
  }

  publish(body: ClusterEventBody): void {
    const event: ClusterEvent = { ...body, cluster: this.cluster, node: this.nodeId, at: this.clock.now() };
    // One migration event per moved shard (hundreds when a node joins or leaves; a failed one is
    // also logged at warn where it failed), and a published map has its own info line from the
    // manager ("shard map published", with its move count): both at debug here.
    if (body.type === "migration" || body.type === "map.published") this.log.debug({ event }, body.type);
    else this.log.info({ event }, body.type);
    try {
      this.nc.publish(this.subject, this.te.encode(JSON.stringify(event)));
    } catch (err) {
      // Events are for people and tools watching; a closed connection must not stop the node.
      this.log.warn({ err }, "could not publish a cluster event");
    }
  }

  /** A `map.published` body with a bounded list of moves, its handoffs counted and, from the load balancer, its reason. */
  static mapPublished(version: number, epoch: number, moves: readonly Move[], how: { reason?: "load"; handoffs?: number } = {}): ClusterEventBody {
    const body: ClusterEventBody = { type: "map.published", version, epoch, moves: moves.length, sample: moves.slice(0, MOVES_SHOWN) };
    if (how.handoffs !== undefined) body.handoffs = how.handoffs;
    return how.reason === undefined ? body : { ...body, reason: how.reason };
  }

  /** Subscribes to a cluster's events (for `watch`, tests and dashboards). */
  static subscribe(nc: NatsConnection, cluster: string, onEvent: (e: ClusterEvent) => void): Subscription {
    const td = new TextDecoder();
    return nc.subscribe(clusterSubjects(cluster).events, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          onEvent(JSON.parse(td.decode(msg.data)) as ClusterEvent);
        } catch {
          // Not ours to judge: anyone may publish on the subject; skip what is not an event.
        }
      },
    });
  }
}
