/** Messages between actors across a live migration: the sender's unacknowledged messages and the receiver's marks move with the actor. */
import { describe, expect, it } from "vitest";
import type { HandoffBatch, RpcRequest } from "../cluster/wire.js";
import { account } from "../src/actors/account.js";
import { UnavailableError } from "../src/errors.js";
import type { Caller } from "../src/ref.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { MemoryBackend } from "../src/store/memory.js";
import { directTransport, mapOf, migrationNode } from "./support/migration-pair.js";
import { turns } from "./support/turns.js";

/** Everything turns send goes to `to()`'s runtime, or nowhere while `down` is set. */
function link(to: () => Runtime): Caller & { down: boolean; sends: number } {
  return {
    down: false,
    sends: 0,
    ask: (t, i, m, o) => to().ask(t, i, m, o),
    async send(t, i, m, o) {
      this.sends++;
      if (this.down) throw new UnavailableError("link down");
      return to().send(t, i, m, o);
    },
    tell: (t, i, m, o) => to().tell(t, i, m, o),
  };
}

describe("migration: messages between actors", () => {
  it("a credit the source could not deliver moves with the sender and is delivered once by the destination", async () => {
    const backend = new MemoryBackend();
    const requests: RpcRequest[] = [];
    let destination!: ReturnType<typeof migrationNode>;
    const transport = directTransport(() => destination, requests);
    const source = migrationNode("A", [account], transport, () => mapOf(1, "A"), backend);
    destination = migrationNode("B", [account], transport, () => mapOf(2, "B"), backend);
    const fromA = link(() => source.runtime);
    fromA.down = true;
    source.runtime.connect(fromA);
    const fromB = link(() => destination.runtime);
    destination.runtime.connect(fromB);

    const a = source.runtime.ref(account, "s1-a");
    await a.ask({ deposit: { amount: 10, txn: "d" } });
    await a.ask({ transfer: { to: "b", amount: 4, txn: "t" } });
    await turns();
    expect(fromA.sends).toBe(1);

    destination.migrations.onMap(mapOf(1, "A"), mapOf(2, "B"));
    source.migrations.onMap(mapOf(1, "A"), mapOf(2, "B"));
    await source.migrations.whenIdle();
    await turns(20);
    const handoff = requests.find((r): r is HandoffBatch => r.k === "handoff" && r.shard === 1);
    expect(handoff?.actors[0]?.mail).toMatchObject({ a: 1, p: [["account", "b", { credit: { from: "s1-a", amount: 4, txn: "t" } }, 0, 2, 0]] });

    expect((await destination.runtime.ref(account, "b").ask({ balance: {} })).balance).toBe(4);
    expect(fromB.sends).toBe(1);
    // The source sends nothing more: its retries went with its activation.
    source.clock.advance(60_000);
    await turns(20);
    expect(fromA.sends).toBe(1);
    expect((await destination.runtime.ref(account, "s1-a").ask({ balance: {} })).balance).toBe(6);
  });
});
