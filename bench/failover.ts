import { connect } from "@nats-io/transport-node";
import { defaultTiming } from "../cluster/config.js";
import { NodeProcess } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import { ShoalError } from "../src/errors.js";
import { FAST_TIMING, fastNodeArgs, waitStable } from "./nodes.js";
import { emit } from "./report.js";
import { percentile } from "./stats.js";

const SHARDS = 64;
const NODE_ARGS = fastNodeArgs(SHARDS);
/** Three crashes of an owner that is not the leader, then one of the leader (it owns the account too). */
const KILLS = ["owner", "owner", "owner", "leader"] as const;
/** Per-ask timeout of the probe loop: the resolution of the figure. */
const ASK_TIMEOUT = 500;
/** Goal for an owner that is not the leader (issue 14): its crash is found by probes, not by the TTL. */
const GOAL_MS = 1000;
/** A failover slower than this fails the bench (20× the goal). */
const GIVE_UP_MS = 20_000;
const DEPOSIT = 7;

interface Balance {
  balance: number;
  node: string;
}

/**
 * Crash failover, end to end: three real `shoal node` processes; the owner of an account is
 * SIGKILLed, and the bench asks the account through the ingress in a tight loop until another
 * node answers with the balance from the journal. After each sample a fresh node takes the dead
 * one's place. The owner is not the leader in the main samples; a last sample kills the leader
 * (its own failover adds an election) and is reported apart.
 *
 * The node timing and per-ask timeout are those of the silent-link figures of the `ingress`
 * part (`silent_link_to_answer_ms*`, bench/silent-link.ts): a crash, whose closed socket the
 * server sees at once, beside a link that goes quiet, which the server only notices by its PINGs.
 */
export async function failover(url: string): Promise<void> {
  const cluster = `benchfo${process.pid}`;
  const nc = await connect({ servers: url });
  const client = new ShoalClient(nc, cluster);
  const procs: NodeProcess[] = [];
  const start = (id: string) => {
    const p = NodeProcess.start({ url, id, cluster, args: NODE_ARGS });
    procs.push(p);
    return p;
  };
  try {
    let live = ["fo-1", "fo-2", "fo-3"].map(start);
    const samples = { owner: [] as number[], leader: [] as number[] };
    const attempts = { owner: [] as number[], leader: [] as number[] };
    for (const [s, kill] of KILLS.entries()) {
      const [first] = await waitStable(
        nc,
        cluster,
        live.map((p) => p.id),
        SHARDS,
      );
      const leader = first!.leader;
      // An account on the node to kill, holding one deposit (state in the journal).
      let id = "";
      let owner = "";
      for (let k = 0; owner === "" || (owner === leader) !== (kill === "leader"); k++) {
        if (k === 1000) throw new Error(`no account found on ${kill === "leader" ? "the leader" : "a non-leader"} in 1000 tries`);
        id = `fo-${process.pid}-${s}-${k}`;
        owner = (await client.ask<Balance>("account", id, { balance: {} })).node;
      }
      await client.ask("account", id, { deposit: { amount: DEPOSIT, txn: `t-${id}` } });
      const victim = live.find((p) => p.id === owner)!;

      const t0 = performance.now();
      await victim.kill();
      let n = 0;
      for (;;) {
        const elapsed = performance.now() - t0;
        if (elapsed > GIVE_UP_MS) throw new Error(`no other node answered for ${id} within ${GIVE_UP_MS} ms of the SIGKILL of ${owner}`);
        n++;
        const sent = performance.now();
        const r = await client.ask<Balance>("account", id, { balance: {} }, { timeout: ASK_TIMEOUT }).catch((err: unknown) => {
          if (ShoalError.is(err)) return undefined; // TIMEOUT / UNAVAILABLE while the cluster notices
          throw err;
        });
        if (r === undefined) {
          // Nodes normally hold a failing ask until a newer map (≤ the ask timeout); never spin hot.
          if (performance.now() - sent < 5) await new Promise((ok) => setTimeout(ok, 5));
          continue;
        }
        if (r.node === owner) throw new Error(`${owner} answered after its SIGKILL`);
        if (r.balance !== DEPOSIT) throw new Error(`after failover ${r.node} answered balance ${r.balance} for ${id}, expected ${DEPOSIT}`);
        samples[kill].push(performance.now() - t0);
        attempts[kill].push(n);
        break;
      }
      live = live.filter((p) => p !== victim);
      if (s < KILLS.length - 1) live.push(start(`fo-${4 + s}`));
    }
    const { probeInterval, probeConfirm, rebalanceDebounce: debounce } = defaultTiming;
    const common = {
      fault: "SIGKILL",
      askTimeout: ASK_TIMEOUT,
      ...FAST_TIMING,
      debounce,
      probeInterval,
      probeConfirm,
      shards: SHARDS,
      compare: "silent_link_to_answer_ms",
    };
    const owner = { samples: samples.owner.map(Math.round), attempts: attempts.owner, killed: "owner, not the leader", ...common };
    emit({ name: "sigkill_to_answer_ms", value: percentile(samples.owner, 50), unit: "ms", stat: "p50", goal: GOAL_MS, ...owner });
    emit({ name: "sigkill_to_answer_ms_max", value: Math.max(...samples.owner), unit: "ms", stat: "max", goal: GOAL_MS, ...owner });
    emit({
      name: "sigkill_leader_to_answer_ms",
      value: samples.leader[0]!,
      unit: "ms",
      attempts: attempts.leader,
      killed: "the leader, owning the account",
      ...common,
    });
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await nc.close();
  }
}
