import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ShoalNode } from "../cluster/node.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { account } from "../src/actors/account.js";
import { sequencer } from "../src/actors/sequencer.js";
import { uniqueCluster } from "./cluster-helpers.js";
import { thrownCode } from "../test/support/outcomes.js";
import { waitFor, waitSettled } from "./kit/index.js";

/** Sends between two real nodes: coalesced like asks, applied once each, in the order sent. */
const SHARDS = 16;
const cluster = uniqueCluster("send");
const conns: NatsConnection[] = [];
const nodes: ShoalNode[] = [];
/** Tell failures t1 reported through its hook (what `shoal_tells_failed_total` counts). */
const tellFailures: Array<[string, number]> = [];

beforeAll(async () => {
  for (const nodeId of ["t1", "t2"]) {
    const nc = await connect({ servers: inject("natsUrl") });
    conns.push(nc);
    const hooks = nodeId === "t1" ? { onTellsFailed: (code: string, n: number) => void tellFailures.push([code, n]) } : undefined;
    nodes.push(await ShoalNode.start({ nc, cluster, nodeId, actors: [account, sequencer], shardCount: SHARDS, rebalanceDebounce: 50, hooks }));
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

describe("send", () => {
  it("applies each of a burst of sends to a remote actor exactly once, in the order sent", async () => {
    const [t1] = nodes;
    const acct = idOwnedBy("account", "t2", "acct-");
    const seq = idOwnedBy("sequencer", "t2", "seq-");
    const told: Array<Promise<void>> = [];
    for (let i = 1; i <= 300; i++) {
      told.push(t1!.send("account", acct, { deposit: { amount: 1, txn: `t-${i}` } }));
      told.push(t1!.send("sequencer", seq, { sender: "t1", seq: i }));
    }
    expect(await Promise.all(told)).toEqual(told.map(() => undefined));
    expect(await t1!.ask("account", acct, { balance: {} })).toMatchObject({ balance: 300, version: 300, node: "t2" });
    expect(await t1!.ask("sequencer", seq, { report: {} })).toMatchObject({
      senders: [{ sender: "t1", last: 300 }],
      violations: [],
      violationCount: 0,
      node: "t2",
    });
  });

  it("applies each of a burst of tells once, in the order told, interleaved with asks", async () => {
    const [t1] = nodes;
    const acct = idOwnedBy("account", "t2", "pacct-");
    const seq = idOwnedBy("sequencer", "t2", "pseq-");
    for (let i = 1; i <= 300; i++) {
      t1!.tell("account", acct, { deposit: { amount: 1, txn: `p-${i}` } });
      t1!.tell("sequencer", seq, { sender: "t1", seq: i });
    }
    // The asks travel behind the tells on the same lane, so they see every one of them applied.
    expect(await t1!.ask("account", acct, { balance: {} })).toMatchObject({ balance: 300, version: 300, node: "t2" });
    expect(await t1!.ask("sequencer", seq, { report: {} })).toMatchObject({
      senders: [{ sender: "t1", last: 300 }],
      violations: [],
      violationCount: 0,
      node: "t2",
    });
  });

  it("loses no tell and keeps their order while shards move to a joining node and back when it leaves", async () => {
    const [t1] = nodes;
    const ids = Array.from({ length: 24 }, (_, i) => `moving-${i}`);
    const report = () =>
      Promise.all(
        ids.map((id) => t1!.ask("sequencer", id, { report: {} }) as Promise<{ node: string; senders: unknown; violations: unknown; violationCount: number }>),
      );
    let sent = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        sent++;
        for (const id of ids) t1!.tell("sequencer", id, { sender: "pump", seq: sent });
        // Every tenth round waits for an ask behind the tells: bounded in flight, no mailbox overflows.
        if (sent % 10 === 0) await t1!.ask("sequencer", ids[sent % ids.length]!, { report: {} });
        else await new Promise((r) => setImmediate(r));
      }
    })();
    const nc3 = await connect({ servers: inject("natsUrl") });
    const t3 = await ShoalNode.start({ nc: nc3, cluster, nodeId: "t3", actors: [account, sequencer], shardCount: SHARDS, rebalanceDebounce: 50 });
    try {
      await waitSettled(conns[0]!, cluster, ["t1", "t2", "t3"], SHARDS, 30_000);
      const during = await report();
      expect(during.filter((r) => r.node === "t3").length).toBeGreaterThan(0); // some of them moved
      const atJoin = sent;
      await waitFor(() => sent >= atJoin + 30, { timeout: 10_000, interval: 20, message: "the pump stalled after the join" });
    } finally {
      await t3.drain(30_000); // hands its shards back (with the sequencers' state), then leaves
      await nc3.close();
    }
    await waitSettled(conns[0]!, cluster, ["t1", "t2"], SHARDS, 30_000);
    const atLeave = sent;
    await waitFor(() => sent >= atLeave + 30, { timeout: 10_000, interval: 20, message: "the pump stalled after the leave" });
    stop = true;
    await pump;
    const after = await report();
    expect(after.map((r) => ({ senders: r.senders, violations: r.violations, violationCount: r.violationCount }))).toEqual(
      ids.map(() => ({ senders: [{ sender: "pump", last: sent }], violations: [], violationCount: 0 })),
    );
  }, 90_000);

  it("counts a tell that fails, by its code here and as AT_PEER when the peer that ran it reports it; bad ids throw at once", async () => {
    const [t1] = nodes;
    t1!.tell("account", idOwnedBy("account", "t1", "pbad-"), { withdraw: "all" }); // refused by this node's runtime
    t1!.tell("account", idOwnedBy("account", "t2", "pbad-"), { withdraw: "all" }); // refused at t2, reported in its acknowledgement
    await waitFor(() => tellFailures.length >= 2, { timeout: 10_000, interval: 20, message: `tell failures: ${JSON.stringify(tellFailures)}` });
    expect([...tellFailures].sort()).toEqual([
      ["AT_PEER", 1],
      ["BAD_REQUEST", 1],
    ]);
    expect(thrownCode(() => t1!.tell("account", "", {}))).toBe("BAD_REQUEST");
    expect(tellFailures).toHaveLength(2);
  });

  it("rejects a send the actor refuses to validate, with the typed error", async () => {
    await expect(nodes[0]!.send("account", idOwnedBy("account", "t2", "bad-"), { withdraw: "all" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
