import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ShoalNode } from "../cluster/node.js";
import { shardOf } from "../cluster/shard-hash.js";
import { account } from "../src/actors/account.js";
import { sequencer } from "../src/actors/sequencer.js";
import { uniqueCluster } from "./cluster-helpers.js";
import { waitSettled } from "./kit/index.js";

/** Tells between two real nodes: coalesced like asks, applied once each, in the order sent. */
const SHARDS = 16;
const cluster = uniqueCluster("tell");
const conns: NatsConnection[] = [];
const nodes: ShoalNode[] = [];

beforeAll(async () => {
  for (const nodeId of ["t1", "t2"]) {
    const nc = await connect({ servers: inject("natsUrl") });
    conns.push(nc);
    nodes.push(await ShoalNode.start({ nc, cluster, nodeId, actors: [account, sequencer], shardCount: SHARDS, rebalanceDebounce: 50 }));
  }
  await waitSettled(conns[0]!, cluster, ["t1", "t2"], SHARDS, 30_000);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) await n.stop();
  await Promise.all(conns.map((nc) => nc.close()));
});

/** An id of `type` whose shard `owner` holds. */
function idOwnedBy(type: string, owner: string, stem: string): string {
  const owners = nodes[0]!.map!.owners;
  for (let k = 0; ; k++) if (owners[shardOf(type, `${stem}${k}`, SHARDS)] === owner) return `${stem}${k}`;
}

describe("tell", () => {
  it("applies each of a burst of tells to a remote actor exactly once, in the order they were told", async () => {
    const [t1] = nodes;
    const acct = idOwnedBy("account", "t2", "acct-");
    const seq = idOwnedBy("sequencer", "t2", "seq-");
    const told: Array<Promise<void>> = [];
    for (let i = 1; i <= 300; i++) {
      told.push(t1!.tell("account", acct, { deposit: { amount: 1, txn: `t-${i}` } }));
      told.push(t1!.tell("sequencer", seq, { sender: "t1", seq: i }));
    }
    expect(await Promise.all(told)).toEqual(told.map(() => undefined));
    expect(await t1!.ask("account", acct, { balance: {} })).toMatchObject({ balance: 300, version: 300, node: "t2" });
    expect(await t1!.ask("sequencer", seq, { report: {} })).toMatchObject({ senders: [{ sender: "t1", last: 300 }], violations: [], violationCount: 0, node: "t2" });
  });

  it("rejects a tell the actor refuses to validate, with the typed error", async () => {
    await expect(nodes[0]!.tell("account", idOwnedBy("account", "t2", "bad-"), { withdraw: "all" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
