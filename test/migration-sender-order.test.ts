/** Per-sender order across a live migration: the table travels in the handoff, sender and seq in the tail. */
import { describe, expect, it } from "vitest";
import { ClusterEvents } from "../cluster/events.js";
import { Migrations } from "../cluster/migration.js";
import type { ShardMap } from "../cluster/placement.js";
import type { MapView } from "../cluster/router.js";
import type { Transport } from "../cluster/transport.js";
import type { HandoffBatch, RpcRequest } from "../cluster/wire.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import { ManualClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import { Runtime } from "../src/runtime/runtime.js";
import { MemoryEventStore } from "../src/store/memory.js";
import { outcome } from "./support/outcomes.js";
import { turns } from "./support/turns.js";

/** An in-memory actor that records the order in which it applied messages. */
const log = defineInMemoryActor<string[], { m: string }, string[]>({
  type: "log",
  initialState: () => [],
  validate: (input) => input as { m: string },
  handle: (state, msg) => ({ state: [...state, msg.m], reply: [...state, msg.m] }),
  serialize: (s) => s,
  deserialize: (d) => d as string[],
});

const partition = (_t: string, id: string) => (id.startsWith("s1-") ? 1 : 0);
const map = (version: number, owner: string): ShardMap => ({ version, epoch: 1, shardCount: 2, owners: [owner, owner] });

/** One node: a runtime and its migrations, on a manual clock that the test never advances. */
function node(id: string, transport: Transport, current: () => ShardMap) {
  const clock = new ManualClock();
  const store = new MemoryEventStore();
  const runtime = new Runtime({ nodeId: id, store, actors: [log], clock, partitionOf: partition });
  const maps: MapView = { current, waitFor: async (until) => until(current()) };
  const events = new ClusterEvents({ publish() {} } as never, "c", id, clock, silentLogger);
  const migrations = new Migrations({ nodeId: id, runtime, store, transport, maps, events, clock, isAlive: () => true });
  return { runtime, migrations };
}

describe("migration: per-sender order", () => {
  it("an early message held on the source and one sent straight to the destination are applied in seq order, without waiting out a gap", async () => {
    const requests: RpcRequest[] = [];
    let destination!: ReturnType<typeof node>;
    // The source's requests go straight to the destination's migrations, as peer dispatch would send them.
    const transport: Transport = {
      request: async (_to, req) => {
        requests.push(req);
        if (req.k === "handoff") return destination.migrations.onHandoff(req);
        if (req.k === "tail-end") return destination.migrations.onTailEnd(req);
        return destination.migrations.onTailAsk(req);
      },
      send: (_n, _r, _t, to) => to.ok({}),
    };
    const source = node("A", transport, () => map(1, "A"));
    destination = node("B", transport, () => map(2, "B"));
    const ask = (rt: Runtime, m: string, seq: number) => outcome(rt.ask("log", "s1-x", { m }, { order: { sender: "c", seq, settled: 0 } }));

    expect(await ask(source.runtime, "c1", 1)).toEqual({ ok: ["c1"] });
    const c3 = ask(source.runtime, "c3", 3); // early: held on the source for c2
    await turns();
    destination.migrations.onMap(map(1, "A"), map(2, "B")); // B holds the shard for A's tail
    const c2 = ask(destination.runtime, "c2", 2); // the client's next message reaches the new owner directly
    source.migrations.onMap(map(1, "A"), map(2, "B"));
    await source.migrations.whenIdle();

    expect(await c2).toEqual({ ok: ["c1", "c2"] });
    expect(await c3).toEqual({ ok: ["c1", "c2", "c3"] });
    const handoff = requests.find((r): r is HandoffBatch => r.k === "handoff" && r.shard === 1);
    expect(handoff?.actors).toEqual([{ type: "log", id: "s1-x", version: 1, state: ["c1"], order: [["c", 2]] }]);
    expect(requests.filter((r) => r.k === "ask")).toEqual([expect.objectContaining({ tail: 1, order: { sender: "c", seq: 3, settled: 0 } })]);
    await source.runtime.stop();
    await destination.runtime.stop();
  });
});
