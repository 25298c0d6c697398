/** Per-sender order across a live migration: the table travels in the handoff, sender and seq in the tail. */
import { describe, expect, it } from "vitest";
import type { ShardMap } from "../cluster/placement.js";
import type { Transport } from "../cluster/transport.js";
import type { HandoffBatch, RpcRequest } from "../cluster/wire.js";
import { defineInMemoryActor } from "../src/actor/define.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { outcome } from "./support/outcomes.js";
import { directTransport, mapOf, migrationNode, type PairNode } from "./support/migration-pair.js";
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

const node = (id: string, transport: Transport, current: () => ShardMap) => migrationNode(id, [log], transport, current);
const map = mapOf;

describe("migration: per-sender order", () => {
  it("an early message held on the source and one sent straight to the destination are applied in seq order, without waiting out a gap", async () => {
    const requests: RpcRequest[] = [];
    let destination!: PairNode;
    const transport = directTransport(() => destination, requests);
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
