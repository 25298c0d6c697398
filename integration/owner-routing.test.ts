/**
 * Zero-hop ingress (issue 14): a `ShoalClient` follows the shard map and sends each call to its
 * owner's node subject, so no node forwards it; the shared subject still serves clients that
 * know nothing; and a call whose owner's node is gone falls back to the shared subject instead
 * of failing.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ShoalNode } from "../cluster/node.js";
import { account } from "../src/actors/account.js";
import { ShoalClient } from "../src/client.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { startTestCluster, type ShoalTestCluster } from "../testing/index.js";
import { waitFor } from "./kit/index.js";

let tc: ShoalTestCluster;
let nc: NatsConnection;

beforeAll(async () => {
  tc = await startTestCluster({ actors: [account], nodes: 3, natsUrl: inject("natsUrl") });
  nc = await connect({ servers: tc.url });
});

afterAll(async () => {
  await nc?.close();
  await tc?.stop();
});

const forwarded = (nodes: readonly ShoalNode[]) => nodes.reduce((n, node) => n + node.status().forwarded, 0);
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** Asks every id once (all at once); returns the node that answered each. */
async function balances(client: ShoalClient, accounts: readonly string[]): Promise<string[]> {
  return Promise.all(accounts.map(async (id) => (await client.ref(account, id).ask({ balance: {} })).node));
}

/** Waits until a round of asks through `client` costs no hop: it has the cluster's current map. */
async function followsMap(client: ShoalClient): Promise<void> {
  await waitFor(
    async () => {
      const before = forwarded(tc.nodes);
      await balances(client, ids("warm", 30));
      return forwarded(tc.nodes) === before;
    },
    { timeout: 15_000, message: "the client routing by the cluster's map" },
  );
}

describe("ShoalClient routes straight to the owner's node", () => {
  it("sends every call to its owner: no node forwards one", async () => {
    await using client = new ShoalClient(nc, tc.cluster);
    await followsMap(client);
    const accounts = ids("direct", 300);
    // What the client publishes: batches on the owners' `…asks` subjects, no single requests.
    const seen = { batches: 0, singles: 0 };
    const spies = [
      nc.subscribe(`shoal.${tc.cluster}.node.*.asks`, { callback: () => void seen.batches++ }),
      nc.subscribe(`shoal.${tc.cluster}.node.*.ask`, { callback: () => void seen.singles++ }),
    ];
    await nc.flush();
    const before = forwarded(tc.nodes);
    const answered = await balances(client, accounts);
    expect(forwarded(tc.nodes) - before).toBe(0);
    await nc.flush();
    for (const spy of spies) spy.unsubscribe();
    expect(seen.singles).toBe(0);
    expect(seen.batches).toBeGreaterThanOrEqual(3); // one per owner at least
    expect(seen.batches).toBeLessThanOrEqual(30); // 300 calls made at once: a few batches, not 300 requests
    // Each answer came from the owner the nodes' map names.
    const map = tc.nodes[0]!.map!;
    expect(answered).toEqual(accounts.map((id) => map.owners[shardOf("account", id, map.shardCount)]));
  });

  it("sends single requests to the owner when batching is off", async () => {
    await using client = new ShoalClient(nc, tc.cluster, { batching: false });
    await followsMap(client);
    let singles = 0;
    const spy = nc.subscribe(`shoal.${tc.cluster}.node.*.ask`, { callback: () => void singles++ });
    await nc.flush();
    const before = forwarded(tc.nodes);
    await balances(client, ids("single", 60));
    await nc.flush();
    spy.unsubscribe();
    expect(forwarded(tc.nodes) - before).toBe(0);
    expect(singles).toBe(60);
  });

  it("still serves clients that know nothing through the shared subject (and those calls take hops)", async () => {
    await using client = new ShoalClient(nc, tc.cluster, { routing: "any" });
    const accounts = ids("shared", 300);
    const before = forwarded(tc.nodes);
    const answered = await balances(client, accounts);
    expect(new Set(answered).size).toBe(3);
    // About two thirds land on a node that does not own the actor; it forwards them.
    expect(forwarded(tc.nodes) - before).toBeGreaterThan(100);
  });

  it("falls back to the shared subject when the owner's node is gone, and answers once the shard moves", async () => {
    await using client = new ShoalClient(nc, tc.cluster, { timeout: 15_000 });
    await followsMap(client);
    const victim = tc.nodes[2]!;
    const map = tc.nodes[0]!.map!;
    const id = ids("orphan", 500).find((a) => map.owners[shardOf("account", a, map.shardCount)] === victim.nodeId)!;
    await client.ref(account, id).ask({ deposit: { amount: 3, txn: "before" } });
    await tc.crashNode(victim);
    // The client's map still names the crashed node: its subject has no responders, so the call
    // goes through the shared subject and waits there for the new owner.
    const after = await client.ref(account, id).ask({ deposit: { amount: 4, txn: "after" } });
    expect(after).toMatchObject({ balance: 7, applied: true });
    expect(after.node).not.toBe(victim.nodeId);
  });
});
