/** A router on a manual clock, a map the test sets by hand and a transport the test answers: for router unit tests. */
import type { ShardMap } from "../../cluster/placement.js";
import { type MapView, Router, type RouterOptions } from "../../cluster/router.js";
import type { Transport } from "../../cluster/transport.js";
import type { ForwardedAsk, RpcRequest } from "../../cluster/wire.js";
import { ManualClock } from "../../src/clock.js";
import type { ReplyTo } from "../../src/reply-to.js";
import { promised } from "./outcomes.js";

export const SHARDS = 4;
export const mapOf = (version: number, owner: string | null): ShardMap => ({ version, epoch: 1, shardCount: SHARDS, owners: Array(SHARDS).fill(owner) });

/** A map the test changes by hand; waiters wake on every change and on their clock timer. */
export class TestMaps implements MapView {
  private waiters = new Set<() => void>();
  constructor(
    private map: ShardMap | undefined,
    private readonly clock: ManualClock,
  ) {}
  current() {
    return this.map;
  }
  set(m: ShardMap) {
    this.map = m;
    for (const w of [...this.waiters]) w();
  }
  waitFor(until: (m: ShardMap | undefined) => boolean, ms: number): Promise<boolean> {
    if (until(this.map)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!until(this.map)) return;
        this.waiters.delete(check);
        t.cancel();
        resolve(true);
      };
      const t = this.clock.setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, ms);
      this.waiters.add(check);
    });
  }
}

/** Records requests per node; each is answered when the test says so. */
export class TestTransport implements Transport {
  sent: Array<{ node: string; req: RpcRequest; answer: (r: unknown) => void; fail: (e: unknown) => void }> = [];
  request(node: string, req: RpcRequest, timeoutMs: number): Promise<unknown> {
    return new Promise((ok, fail) => this.send(node, req, timeoutMs, { ok, fail }));
  }
  send(node: string, req: RpcRequest, _timeoutMs: number, to: ReplyTo): void {
    this.sent.push({ node, req, answer: (r) => to.ok(r), fail: (e) => to.fail(e) });
  }
}

/** `more`: further router options (the tell bound, its policy, hooks). */
export function setup(initial: ShardMap | undefined, onTellFailed?: (err: unknown) => void, more: Partial<RouterOptions> = {}) {
  const clock = new ManualClock();
  const maps = new TestMaps(initial, clock);
  const transport = new TestTransport();
  const local: string[] = [];
  /** The sender and seq of each local delivery, in order. */
  const localOrder: Array<[string | undefined, number | undefined]> = [];
  const router = new Router({
    nodeId: "me",
    clock,
    maps,
    transport,
    onTellFailed,
    // Like the runtime, it answers in a later job.
    local: {
      deliver: (_t, id, _m, _deadline, to, order) =>
        queueMicrotask(() => {
          local.push(id);
          localOrder.push([order?.sender, order?.seq]);
          to.ok(`local:${id}`);
        }),
    },
    ...more,
  });
  /** A forwarded ask, served here: its outcome as a promise. */
  const forwarded = (req: ForwardedAsk) => {
    const { to, promise } = promised();
    router.handleForwarded(req, to);
    return promise;
  };
  return { clock, maps, transport, router, local, localOrder, forwarded };
}
