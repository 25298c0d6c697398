import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ShoalNode } from "../cluster/node.js";
import { NodeProcess } from "../local-nats/index.js";
import { account } from "../src/actors/account.js";
import { sequencer } from "../src/actors/sequencer.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { alternate, perSecond, type Run, timed } from "./compare.js";
import { CpuTally, cpuFigure } from "./cpu.js";
import { echo, echoMessage } from "./echo-actor.js";
import { waitStable } from "./nodes.js";
import { echoActorModule, startRawPeer, stopChild } from "./peers.js";
import { relay } from "./relay-actor.js";
import { benchConnections } from "./connections.js";
import { emit } from "./report.js";
import { percentile } from "./stats.js";

const SHARDS = 64;
const PAYLOAD = 128;
const WINDOWS = [1, 32, 128] as const;
const ASKS: Record<number, number> = { 1: 2000, 32: 20_000, 128: 30_000 };
/** Relay actors per case, as many as the remote part's echo actors. */
const ACTORS = 256;
const WARMUP = 10_000;
const TIMEOUT = 30_000;
/** The CPU of every process is added up at these windows (at window 1 the processes mostly wait). */
const CPU_WINDOWS: readonly number[] = [32, 128];
const relayActorModule = join(echoActorModule, "..", "relay-actor.js");

/**
 * An ask from one actor to another inside a turn, vs raw nats.js request-reply on the same server.
 *
 * Two `shoal node` processes (`aa-n1`, `aa-n2`) host the relay actor (`bench/relay-actor.ts`: its
 * turn does `await ctx.ref(echo, ctx.id).ask(msg)` and answers the reply) and the echo actor; a
 * ShoalNode in this process (a third member) asks relays that `aa-n1` owns, window 1, 32 and 128,
 * 128 B of MessagePack on every hop. Two cases, by the shard owner of each id's echo:
 *
 * - `same_node`: the echo is on `aa-n1` too (the turn's ask stays in the process);
 * - `other_node`: the echo is on `aa-n2` (the turn's ask crosses NATS to the other node and back).
 *
 * So one op is: caller → relay's node → (echo, here or on the other node) → relay → caller.
 * Baselines, in the same alternated rounds: one raw `nc.request` to a process that echoes
 * (what the caller → relay hop alone costs raw), and two raw requests one after the other per op
 * (caller → relay plus relay → echo: what a raw relay's two hops cost, without the relay process).
 */
export async function actorAsk(url: string, serverPid?: number): Promise<void> {
  const cluster = `benchaa${process.pid}`;
  const rawSubject = `benchaa${process.pid}.echo`;
  const { open, closeAll } = benchConnections(url);
  const nodes: NodeProcess[] = [];
  let rawPeer: ChildProcess | undefined;
  let caller: ShoalNode | undefined;
  const server = serverPid === undefined ? {} : { server: serverPid };
  try {
    const args = ["--shards", String(SHARDS), "--actors", echoActorModule, "--actors", relayActorModule];
    for (const id of ["aa-n1", "aa-n2"]) nodes.push(NodeProcess.start({ url, id, cluster, args }));
    rawPeer = await startRawPeer(url, rawSubject);
    const raw = await open();
    const observer = await open();
    const members = nodes.map((p) => p.id);
    await waitStable(observer, cluster, members, SHARDS);
    caller = await ShoalNode.start({ nc: await open(), cluster, nodeId: "aa-caller", actors: [relay, echo, account, sequencer], shardCount: SHARDS });
    await waitStable(observer, cluster, [...members, "aa-caller"], SHARDS);
    const owners = caller.map!.owners;
    const owner = (type: string, id: string) => owners[shardOf(type, id, SHARDS)];
    const ids = { same: [] as string[], other: [] as string[] };
    for (let k = 0; ids.same.length < ACTORS || ids.other.length < ACTORS; k++) {
      const id = `r${k}`;
      if (owner(relay.type, id) !== "aa-n1") continue;
      const to = owner(echo.type, id) === "aa-n1" ? ids.same : owner(echo.type, id) === "aa-n2" ? ids.other : undefined;
      if (to !== undefined && to.length < ACTORS) to.push(id);
    }
    const node = caller;
    const msg = echoMessage(PAYLOAD);
    const body = new Uint8Array(PAYLOAD).fill(120);
    const viaRelay =
      (list: string[]): Run =>
      (n, w, lat) =>
        timed(n, w, lat, (i) => node.ask(relay.type, list[i % list.length]!, msg, { timeout: TIMEOUT }));
    const sides = {
      same: viaRelay(ids.same),
      other: viaRelay(ids.other),
      raw: ((n, w, lat) => timed(n, w, lat, () => raw.request(rawSubject, body, { timeout: TIMEOUT }))) as Run,
      raw2: ((n, w, lat) =>
        timed(n, w, lat, async () => {
          await raw.request(rawSubject, body, { timeout: TIMEOUT });
          await raw.request(rawSubject, body, { timeout: TIMEOUT });
        })) as Run,
    };
    // Warm every path (the JIT, every actor activated on both nodes), then measure.
    for (const run of Object.values(sides)) await run(WARMUP, 128, []);

    const procs = { caller: undefined, "aa-n1": nodes[0]!.pid, "aa-n2": nodes[1]!.pid, ...server };
    const rawProcs = { caller: undefined, responder: rawPeer.pid, ...server };
    for (const window of WINDOWS) {
      const cpu = CPU_WINDOWS.includes(window)
        ? { same: new CpuTally(procs), other: new CpuTally(procs), raw: new CpuTally(rawProcs), raw2: new CpuTally(rawProcs) }
        : undefined;
      const r = await alternate(ASKS[window]!, window, sides, { cpu });
      const tag = `w${window}_${PAYLOAD}b`;
      const what = { window, payload: PAYLOAD, actors: ACTORS, processes: "caller, relay's node, other node apart", server: "same" };
      const p = (side: keyof typeof r.lat, q: number) => percentile(r.lat[side], q);
      const ms = (side: keyof typeof r.lat, q: number) => `${p(side, q).toFixed(3)} ms`;
      const cases = [
        ["same", "same_node", "the relay's turn asks an echo on its own node"],
        ["other", "other_node", "the relay's turn asks an echo on the other node (over NATS)"],
      ] as const;
      for (const [side, name, how] of cases) {
        const fields = { p50Ms: p(side, 50), p99Ms: p(side, 99), note: `caller → relay (in-memory) → ${how} → relay → caller`, ...what };
        emit({
          name: `actor_ask_${name}_${tag}`,
          value: r.rate[side],
          unit: "asks/s",
          ratio: r.rate[side] / r.rate.raw,
          baseline: `raw request ${perSecond(r.rate.raw)}`,
          ...fields,
        });
        if (side === "other") {
          emit({
            name: `actor_ask_other_node_vs_2req_${tag}`,
            value: r.rate.other,
            unit: "asks/s",
            ratio: r.rate.other / r.rate.raw2,
            baseline: `2 raw requests in a row ${perSecond(r.rate.raw2)}`,
            ...fields,
          });
        }
      }
      emit({ name: `raw_request_actors_${tag}`, value: r.rate.raw, unit: "msgs/s", p50Ms: p("raw", 50), p99Ms: p("raw", 99), ...what });
      emit({
        name: `raw_2requests_actors_${tag}`,
        value: r.rate.raw2,
        unit: "ops/s",
        p50Ms: p("raw2", 50),
        p99Ms: p("raw2", 99),
        note: "two awaited nc.request in a row per op",
        ...what,
      });
      for (const q of [50, 99]) {
        emit({ name: `actor_ask_same_node_p${q}_${tag}`, value: p("same", q), unit: "ms", baseline: `raw ${ms("raw", q)}`, ...what });
        emit({ name: `actor_ask_other_node_p${q}_${tag}`, value: p("other", q), unit: "ms", baseline: `raw ${ms("raw", q)}, 2 raw ${ms("raw2", q)}`, ...what });
      }
      if (cpu !== undefined) {
        const figures = [
          cpuFigure(`actor_ask_same_node_cpu_${tag}`, "ask", cpu.same, cpu.raw, what),
          cpuFigure(`actor_ask_other_node_cpu_${tag}`, "ask", cpu.other, cpu.raw, what),
          cpuFigure(`actor_ask_other_node_cpu_vs_2req_${tag}`, "ask", cpu.other, cpu.raw2, what),
        ];
        // The last one's raw op is two requests in a row: say so in its baseline.
        const vs2 = figures[2];
        if (vs2 !== undefined) figures[2] = { ...vs2, baseline: String(vs2.baseline).replace("raw", "2 raw requests") };
        for (const f of figures) if (f !== undefined) emit(f);
      }
    }
  } finally {
    await caller?.stop().catch(() => undefined);
    await closeAll();
    await Promise.all(nodes.map((p) => p.stop()));
    if (rawPeer !== undefined) await stopChild(rawPeer);
  }
}
