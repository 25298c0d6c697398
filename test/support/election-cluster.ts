/**
 * Leader election on a fake cluster: nodes of {@link LeaderElection} on one in-memory KV backend
 * and one manual clock, with network lag, slow watches, SIGSTOP/SIGCONT and cut connections per
 * node. {@link ElectionCluster} checks "at most one leader" after every timer of every node.
 */
import { expect } from "vitest";
import { type ElectionEvent, LeaderElection } from "../../cluster/election.js";
import { MemoryKvBackend } from "../../cluster/kv-memory.js";
import type { Kv } from "../../cluster/kv.js";
import { type Clock, ManualClock } from "../../src/clock.js";
import { turns } from "./turns.js";

/** Lease, renewal interval and safety margin of every node, ms of fake time. */
export const TTL = 3000;
export const RENEW = 1000;
export const MARGIN = 300;

export interface TestNode {
  id: string;
  election: LeaderElection;
  events: ElectionEvent[];
  /** SIGSTOP: its timers are held until resumed (its KV is cut at the same time). */
  paused: boolean;
  held: Array<() => void>;
  running: boolean;
  /** One-way network delay of its KV requests and replies, ms of fake time. */
  lag: number;
  /** Delay of its watch deliveries (after the initial values), ms; order is kept. */
  watchLag: number;
}

/**
 * `kv` with every request applied `lag()` ms after it is sent and answered `lag()` ms after that,
 * and watch changes delivered `watchLag()` ms late (in order).
 */
function laggy(kv: Kv, clock: ManualClock, lag: () => number, watchLag: () => number): Kv {
  const later = <T>(op: () => Promise<T>): Promise<T> => {
    const ms = lag();
    if (ms === 0) return op();
    return new Promise<T>((resolve, reject) => {
      clock.setTimeout(() => {
        op().then(
          (v) => void clock.setTimeout(() => resolve(v), ms),
          (e: unknown) => void clock.setTimeout(() => reject(e), ms),
        );
      }, ms);
    });
  };
  return {
    get: (k) => later(() => kv.get(k)),
    create: (k, v) => later(() => kv.create(k, v)),
    update: (k, v, r) => later(() => kv.update(k, v, r)),
    put: (k, v) => later(() => kv.put(k, v)),
    delete: (k, r) => later(() => kv.delete(k, r)),
    keys: () => later(() => kv.keys()),
    watch: async (cb, k) => {
      let live = false;
      let nextAt = 0;
      const w = await kv.watch((change) => {
        if (!live || watchLag() === 0) return cb(change);
        nextAt = Math.max(nextAt, clock.now() + watchLag());
        clock.setTimeout(() => live && cb(change), nextAt - clock.now());
      }, k);
      live = true;
      return {
        stop: () => {
          live = false;
          w.stop();
        },
      };
    },
  };
}

/** Nodes on one MemoryKv backend and one manual clock; checks "at most one leader" after every timer. */
export class ElectionCluster {
  readonly clock = new ManualClock();
  readonly backend = new MemoryKvBackend(this.clock);
  /** The latest instance per id. */
  readonly nodes = new Map<string, TestNode>();
  /** Every instance ever started (an old one may still think it leads). */
  readonly all: TestNode[] = [];
  readonly elected: Array<{ node: string; epoch: number; at: number }> = [];
  readonly violations: string[] = [];

  /** Starts a node; `client` names its connection (a restarted process with the same id gets a new one). */
  async start(id: string, lag = 0, client = id): Promise<TestNode> {
    const node = { id, events: [], paused: false, held: [], running: true, lag, watchLag: 0 } as Omit<TestNode, "election"> as TestNode;
    const kv = laggy(
      await this.backend.provider(client).bucket("leader", { ttl: TTL }),
      this.clock,
      () => node.lag,
      () => node.watchLag,
    );
    const clock: Clock = {
      now: () => this.clock.now(),
      setTimeout: (fn, ms) =>
        this.clock.setTimeout(() => {
          if (node.paused) node.held.push(fn);
          else fn();
          this.check();
        }, ms),
    };
    node.election = new LeaderElection({ kv, nodeId: id, clock, leaderTtl: TTL, renewInterval: RENEW, safetyMargin: MARGIN });
    node.election.onChange((e) => {
      node.events.push(e);
      if (e.kind === "elected") this.elected.push({ node: id, epoch: e.epoch, at: this.clock.now() });
      if (e.kind === "elected" && !node.election.isLeader()) this.violations.push(`${id} elected but not leader`);
      this.check();
    });
    this.nodes.set(id, node);
    this.all.push(node);
    await node.election.start();
    return node;
  }

  /** Resolves once the key is released, which with network lag takes fake time: not awaited then. */
  stop(id: string): Promise<void> {
    const node = this.nodes.get(id)!;
    node.running = false;
    return node.election.stop();
  }

  leaders(): TestNode[] {
    return this.all.filter((n) => n.running && n.election.isLeader());
  }

  leader(): TestNode {
    const ls = this.leaders();
    expect(ls).toHaveLength(1);
    return ls[0]!;
  }

  check(): void {
    const ls = this.leaders();
    if (ls.length > 1) this.violations.push(`t=${this.clock.now()}: leaders ${ls.map((n) => n.id).join(", ")}`);
  }

  /** Advances in `step` ms slices, letting replies arrive between them. */
  async advance(ms: number, step = 50): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      this.clock.advance(Math.min(step, ms - done));
      await turns();
      this.check();
    }
  }

  pause(id: string): void {
    this.nodes.get(id)!.paused = true;
    this.backend.cut(id);
  }

  /** SIGKILL: like a pause that never ends, and the process no longer counts as a leader. */
  crash(id: string): void {
    this.pause(id);
    this.nodes.get(id)!.running = false;
  }

  /** SIGCONT: the held timers run first (the worst case), then the connection comes back. */
  async resume(id: string): Promise<void> {
    const node = this.nodes.get(id)!;
    node.paused = false;
    for (const fn of node.held.splice(0)) fn();
    this.check();
    this.backend.heal(id);
    await turns();
  }

  async admin(): Promise<Kv> {
    return this.backend.provider("admin").bucket("leader", { ttl: TTL });
  }
}

export async function threeNodes(): Promise<ElectionCluster> {
  const c = new ElectionCluster();
  for (const id of ["a", "b", "c"]) await c.start(id);
  await turns();
  return c;
}

export const steppedDown = (n: TestNode) => n.events.filter((e) => e.kind === "stepped-down");
