import type { ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { type ClusterEvent, ClusterEvents } from "../cluster/events.js";
import type { Move } from "../cluster/placement.js";
import type { NodeStatus } from "../cluster/status.js";
import { NodeProcess } from "../local-nats/index.js";
import { ShoalClient } from "../src/client.js";
import { encodeJson } from "../src/codec/json.js";
import { ShoalError } from "../src/errors.js";
import { clusterBuckets } from "../src/nats-names.js";
import { ownerIn } from "../src/routing/actor-shard.js";
import { shardIn } from "../src/routing/actor-shard.js";
import { decodeMap, type ShardMap } from "../src/routing/shard-map.js";
import { busy, mix } from "./busy-actor.js";
import { benchConnections } from "./connections.js";
import { perSecond } from "./compare.js";
import { CpuTally, cpuFigure, cpuMicros, systemBusyMicros } from "./cpu.js";
import { statusOf, waitStable } from "./nodes.js";
import { echoActorModule, startRawPeer, stopChild } from "./peers.js";
import { emit } from "./report.js";
import { mean, median, percentile } from "./stats.js";

/** The cluster's default shard count: 1,000 actors over 1,024 shards, about one actor a shard. */
const SHARDS = 1024;
const ACTORS = 1000;
/** 10% of the actors take 90% of the turns. */
const HOT = 100;
const HOT_SHARE = 0.9;
/** Asks in flight (closed loop), for Shoal and raw alike. */
const WINDOW = 128;
/**
 * Rounds of integer mixing per turn (`bench/busy-actor.ts`): ≈ 35 µs of CPU here, what a durable
 * turn costs its node over a read (a `deposit` cost the nodes ≈ 44 µs in run 21), without the
 * JetStream append that only the one shared server pays and no placement can move.
 */
const SPIN = 4700;
/** Each measured window; three alternated rounds of each side. */
const ROUND_MS = 8000;
const ROUNDS = 3;
/** The leader's status is read this long before a window ends, while the load still runs. */
const STATUS_BEFORE_END_MS = 1500;
/** Load balancing as the `on` cluster runs it: over 1.3 × the fair share, a look every 2 s, the default 8 moves a look. */
const FACTOR = 1.3;
const LB_INTERVAL_MS = 2000;
/** Settled: no map for load for this long (five looks), and the last one's handoffs done. */
const QUIET_MS = 10_000;
/** Longest the `on` cluster may take to settle under the skewed load before it is measured anyway. */
const SETTLE_MAX_MS = 240_000;
/** Warm-up of the `off` cluster (the `on` one warms while it settles) and of the raw side. */
const WARM_MS = 5000;
const TIMEOUT = 30_000;
/** How long a join may take to settle on a busy machine. */
const JOIN_SETTLE_MS = 60_000;
const NODE_IDS = ["sk-1", "sk-2", "sk-3"] as const;
/** The node a concentrated hot set lives on: not the leader (sk-1, started first), so the leader's own work stays apart. */
const HOT_NODE = "sk-2";
const COMMON_ARGS = ["--builtin-projections", "off", "--actors", join(echoActorModule, "..", "busy-actor.js")];
const LB_ARGS = ["--load-balance", String(FACTOR), "--load-balance-interval", String(LB_INTERVAL_MS)];

type Placement = "random" | "concentrated";
type Side = "off" | "on";
const SIDES: readonly Side[] = ["off", "on"];

/**
 * Issue 17's acceptance bench: a skewed workload (10% of the actors take 90% of the turns) on
 * three `shoal node` processes, without and with load-aware rebalancing.
 *
 * Two clusters on the same server, each of three node processes with the same ids, started one
 * at a time and settled between joins, so both begin with the same shard map (checked): `off`
 * (no load balancing, the default) and `on` (`--load-balance 1.3 --load-balance-interval 2000`).
 * Both host `benchbusy` (`bench/busy-actor.ts`: an in-memory actor whose turn does ≈ 35 µs of
 * CPU work) and run with `--builtin-projections off`. A `ShoalClient` per cluster (routing by the
 * map, so every call goes straight to its owner's node) keeps {@link WINDOW} asks in flight, each
 * to a hot actor with probability 0.9, else to a cold one, uniformly within each set. Two hot
 * sets, each a fresh pair of clusters:
 *
 * - `random`: 100 ids chosen without regard to placement; hashing spreads them over the nodes,
 *   so each node has about a third of the hot actors and rebalancing has little to fix;
 * - `concentrated`: 100 ids whose shards {@link HOT_NODE} owns (a tenant hotspot): that node
 *   runs ≈ 93% of the turns.
 *
 * The 900 cold ids are the same in both. The `on` cluster runs the skewed load until its
 * leader has made no move for load for {@link QUIET_MS} (moves counted from the `map.published`
 * events with reason "load"); then alternated rounds of {@link ROUND_MS} each measure `off`,
 * `on` and raw (`nc.request` of the client's request size to a trivial responder, same window):
 * calls/s, p50/p99, CPU per call of every process, each node's CPU, the turn rates per node
 * the leader saw, and the CPU other work on the machine took meanwhile.
 */
export async function skew(url: string, serverPid?: number): Promise<void> {
  emit(turnCost());
  for (const placement of ["random", "concentrated"] as const) await skewCase(url, serverPid, placement);
}

/** CPU of one turn's work (`mix(SPIN)`), measured in this process. */
function turnCost() {
  let x = 1;
  for (let i = 0; i < 2000; i++) x = mix(SPIN, x);
  const n = 20_000;
  const t0 = cpuMicros()!;
  for (let i = 0; i < n; i++) x = mix(SPIN, x);
  const us = (cpuMicros()! - t0) / n;
  return {
    name: "skew_turn_work_cpu",
    value: us,
    unit: "µs CPU/turn",
    spin: SPIN,
    note: `benchbusy's turn work (${SPIN} mixing rounds), in this process`,
    check: x,
  };
}

/** What one closed-loop window measured. */
interface Window {
  calls: number;
  errors: Record<string, number>;
  seconds: number;
  lat: number[];
}

/** The actors of a case: hot and cold ids, and where they live in a map. */
interface ActorSets {
  hot: string[];
  cold: string[];
}

async function skewCase(url: string, serverPid: number | undefined, placement: Placement): Promise<void> {
  const name = `benchsk${process.pid}${placement === "random" ? "r" : "c"}`;
  const clusters: Record<Side, string> = { off: `${name}off`, on: `${name}on` };
  const rawSubject = `${name}.echo`;
  const { open, closeAll } = benchConnections(url);
  const nodes: Record<Side, NodeProcess[]> = { off: [], on: [] };
  const clients: ShoalClient[] = [];
  let rawPeer: ChildProcess | undefined;
  const load0 = loadavg();
  try {
    rawPeer = await startRawPeer(url, rawSubject);
    const observer = await open();
    const eventsNc = await open();
    // One node at a time, settled between joins: the map depends only on the ids and that order.
    for (const side of SIDES) {
      for (const id of NODE_IDS) {
        const args = side === "on" ? [...COMMON_ARGS, ...LB_ARGS] : COMMON_ARGS;
        nodes[side].push(NodeProcess.start({ url, id, cluster: clusters[side], args }));
        await waitStable(
          observer,
          clusters[side],
          nodes[side].map((p) => p.id),
          SHARDS,
          JOIN_SETTLE_MS,
        );
      }
    }
    const leaders = await Promise.all(SIDES.map(async (side) => (await statusOf(observer, clusters[side], NODE_IDS[0]))!.leader!));
    const leaderOf: Record<Side, string> = { off: leaders[0]!, on: leaders[1]! };
    const maps: Record<Side, ShardMap> = { off: await readMap(observer, clusters.off), on: await readMap(observer, clusters.on) };
    const sameMap = maps.off.owners.every((o, s) => o === maps.on.owners[s]);
    const sets: Record<Side, ActorSets> = { off: actorSets(maps.off, placement), on: actorSets(maps.on, placement) };
    const sameSets = sets.off.hot.join() === sets.on.hot.join();
    const hotOn = (side: Side) => countBy(sets[side].hot.map((id) => ownerIn(maps[side], busy.type, id) ?? "none"));
    const hotShards = new Set(sets.off.hot.map((id) => shardIn(maps.off, busy.type, id))).size;

    // Every map either cluster publishes for load, from its events, with the bench's phase at the
    // time and what the leader's clusterLoad showed just after (the evidence of why it moved).
    const phase = { name: "activate", at: performance.now() };
    const enter = (name: string) => {
      phase.name = name;
      phase.at = performance.now();
    };
    const moves: Record<Side, LoadMap[]> = { off: [], on: [] };
    const completed = new Map<string, number>();
    for (const side of SIDES) {
      ClusterEvents.subscribe(eventsNc, clusters[side], (e: ClusterEvent) => {
        if (e.type === "map.published" && e.reason === "load") {
          const m: LoadMap = {
            at: performance.now(),
            phase: phase.name,
            inPhaseS: (performance.now() - phase.at) / 1000,
            version: e.version,
            moves: e.moves,
            sample: e.sample,
          };
          moves[side].push(m);
          void statusOf(observer, clusters[side], leaderOf[side]).then(
            (st) =>
              (m.viewAfter = Object.fromEntries((st?.clusterLoad?.nodes ?? []).map((n) => [n.node, { turnsPerSec: Math.round(n.turnsPerSec), ageMs: n.age }]))),
            () => undefined,
          );
        }
        if (e.type === "migration") completed.set(`${side}:${e.mapVersion}`, (completed.get(`${side}:${e.mapVersion}`) ?? 0) + 1);
      });
    }
    await eventsNc.flush();

    for (const side of SIDES) clients.push(new ShoalClient(await open(), clusters[side]));
    const client: Record<Side, ShoalClient> = { off: clients[0]!, on: clients[1]! };
    const raw = await open();
    const msg = { spin: SPIN };
    const body = new Uint8Array(encodeJson({ type: busy.type, id: sets.off.hot[0]!, msg, timeoutMs: TIMEOUT }).length).fill(120);
    const call: Record<Side | "raw", (id: string) => Promise<unknown>> = {
      off: (id) => client.off.ask(busy.type, id, msg, { timeout: TIMEOUT }),
      on: (id) => client.on.ask(busy.type, id, msg, { timeout: TIMEOUT }),
      raw: () => raw.request(rawSubject, body, { timeout: TIMEOUT }),
    };

    // Every actor activated once on each side (uniformly: nothing skewed yet), then warm-ups.
    for (const side of SIDES) {
      const all = [...sets[side].cold, ...sets[side].hot];
      await drive(
        WINDOW,
        (i) => call[side](all[i]!),
        (n) => n >= all.length,
      );
    }
    enter("warm");
    await timedWindow(WARM_MS, (w) => call.off(pick(sets.off, w)));
    await timedWindow(WARM_MS, () => call.raw(""));

    // The `on` cluster under the skewed load until its leader stops moving shards for load.
    enter("settle");
    const settleStart = performance.now();
    const before = moves.on.length;
    let settled = false;
    const settleWindow = await drive(
      WINDOW,
      (_, w) => call.on(pick(sets.on, w)),
      () => {
        const now = performance.now();
        const last = moves.on.length > before ? moves.on.at(-1) : undefined;
        settled = last === undefined ? now - settleStart >= QUIET_MS : now - last.at >= QUIET_MS && (completed.get(`on:${last.version}`) ?? 0) >= last.moves;
        return settled || now - settleStart >= SETTLE_MAX_MS;
      },
    );
    const settleMaps = moves.on.slice(before);
    const settleS = settleMaps.length === 0 ? 0 : (settleMaps.at(-1)!.at - settleStart) / 1000;
    const firstS = settleMaps[0] === undefined ? undefined : (settleMaps[0].at - settleStart) / 1000;

    // Alternated measured rounds.
    const server = serverPid === undefined ? {} : { server: serverPid };
    const procsOf = (side: Side) => Object.fromEntries(nodes[side].map((p) => [p.id, p.pid]));
    const tally = {
      off: new CpuTally({ client: undefined, ...procsOf("off"), ...server }),
      on: new CpuTally({ client: undefined, ...procsOf("on"), ...server }),
      raw: new CpuTally({ client: undefined, responder: rawPeer.pid, ...server }),
    };
    const ours = [undefined, ...nodes.off.map((p) => p.pid), ...nodes.on.map((p) => p.pid), rawPeer.pid, ...(serverPid === undefined ? [] : [serverPid])];
    const foreign: number[] = [];
    const windows = { off: [] as Window[], on: [] as Window[], raw: [] as Window[] };
    const views = { off: [] as TurnView[], on: [] as TurnView[] };
    const loads: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ["off", "on", "raw"] as const) {
        enter(`round ${round + 1} ${side}`);
        const sys0 = systemBusyMicros();
        const ours0 = sumCpu(ours);
        const viewed =
          side === "raw"
            ? undefined
            : new Promise<TurnView | undefined>((resolve) =>
                setTimeout(
                  () => void leaderView(observer, clusters[side], leaderOf[side]).then(resolve, () => resolve(undefined)),
                  ROUND_MS - STATUS_BEFORE_END_MS,
                ),
              );
        const run = () => timedWindow(ROUND_MS, side === "raw" ? () => call.raw("") : (w) => call[side](pick(sets[side], w)));
        const win = await tally[side].measure((w) => w.calls, run);
        windows[side].push(win);
        const sys1 = systemBusyMicros();
        const ours1 = sumCpu(ours);
        if (sys0 !== undefined && sys1 !== undefined && ours0 !== undefined && ours1 !== undefined)
          foreign.push((sys1 - sys0 - (ours1 - ours0)) / (win.seconds * 1e6));
        loads.push(loadavg()[0]!);
        if (viewed !== undefined && side !== "raw") {
          const v = await viewed;
          if (v !== undefined) views[side].push(v);
        }
      }
    }
    enter("end");
    const measuredMoves = moves.on.slice(before + settleMaps.length).reduce((t, m) => t + m.moves, 0);
    const after = await readMap(observer, clusters.on);
    const hotAfter = countBy(sets.on.hot.map((id) => ownerIn(after, busy.type, id) ?? "none"));

    // Figures.
    const tag = placement;
    const rate = (side: keyof typeof windows) => median(windows[side].map((w) => w.calls / w.seconds));
    const lat = (side: keyof typeof windows) => windows[side].flatMap((w) => w.lat);
    const calls = (side: keyof typeof windows) => windows[side].reduce((t, w) => t + w.calls, 0);
    const seconds = (side: keyof typeof windows) => windows[side].reduce((t, w) => t + w.seconds, 0);
    const errors = (side: keyof typeof windows) => mergeCounts(windows[side].map((w) => w.errors));
    const rawRate = rate("raw");
    const common = {
      placement,
      actors: ACTORS,
      hot: HOT,
      hotShare: HOT_SHARE,
      window: WINDOW,
      spin: SPIN,
      nodes: NODE_IDS.length,
      shards: SHARDS,
      roundMs: ROUND_MS,
      server: "same",
    };
    const ctx = {
      sameMap,
      sameHotSet: sameSets,
      hotShards,
      hotActorsPerNode: { off: hotOn("off"), on: hotOn("on"), onAfter: hotAfter },
      leader: leaderOf,
      loadavg1mBefore: load0[0],
      loadavg1mDuring: { min: Math.min(...loads), max: Math.max(...loads) },
      foreignCpuCores: foreign.length === 0 ? undefined : { median: median(foreign), max: Math.max(...foreign) },
    };
    emit({
      name: `skew_context_${tag}`,
      value: foreign.length === 0 ? Number.NaN : Math.max(...foreign),
      unit: "cores used by other work (max of a round)",
      ...common,
      ...ctx,
    });
    for (const side of SIDES) {
      const l = lat(side);
      const how =
        side === "off"
          ? "load balancing off (the default)"
          : `--load-balance ${FACTOR} --load-balance-interval ${LB_INTERVAL_MS}, measured once it had settled`;
      emit({
        name: `skew_calls_${side}_${tag}`,
        value: rate(side),
        unit: "calls/s",
        ratio: rate(side) / rawRate,
        baseline: `raw request ${perSecond(rawRate)}`,
        p50Ms: percentile(l, 50),
        p99Ms: percentile(l, 99),
        byRound: windows[side].map((w) => ({ callsPerSec: Math.round(w.calls / w.seconds), p99Ms: Number(percentile(w.lat, 99).toFixed(2)) })),
        errors: errors(side),
        note: `ShoalClient asks to benchbusy, ${HOT_SHARE * 100}% to the ${HOT} hot actors; ${how}`,
        ...common,
      });
      for (const q of [50, 99]) {
        emit({ name: `skew_p${q}_${side}_${tag}`, value: percentile(l, q), unit: "ms", baseline: `raw ${percentile(lat("raw"), q).toFixed(3)} ms`, ...common });
      }
      const cpu = cpuFigure(`skew_cpu_${side}_${tag}`, "call", tally[side], tally.raw, common);
      if (cpu !== undefined) emit(cpu);
      const per = tally[side].perOp();
      if (per !== undefined) {
        const nodeCpu = NODE_IDS.map((id) => ({ id, us: per.parts[id] ?? 0 }));
        const total = nodeCpu.reduce((t, n) => t + n.us, 0);
        const cores = Object.fromEntries(nodeCpu.map((n) => [n.id, (n.us * calls(side)) / (seconds(side) * 1e6)]));
        const busiest = nodeCpu.reduce((a, b) => (b.us > a.us ? b : a));
        emit({
          name: `skew_busiest_node_cpu_${side}_${tag}`,
          value: cores[busiest.id]!,
          unit: "cores",
          node: busiest.id,
          shareOfNodesCpu: busiest.us / total,
          coresPerNode: cores,
          usPerCallPerNode: Object.fromEntries(nodeCpu.map((n) => [n.id, n.us])),
          note: "the busiest node process's CPU over the measured rounds, in cores (1 = a whole core); shareOfNodesCpu: its part of the three nodes' CPU",
          ...common,
        });
      }
      const v = views[side];
      if (v.length > 0) {
        const perNode = Object.fromEntries(NODE_IDS.map((id) => [id, mean(v.map((x) => x[id] ?? 0))]));
        const total = Object.values(perNode).reduce((a, b) => a + b, 0);
        const [top, topRate] = Object.entries(perNode).reduce((a, b) => (b[1] > a[1] ? b : a));
        emit({
          name: `skew_busiest_node_turn_share_${side}_${tag}`,
          value: topRate / total,
          unit: "of turns",
          node: top,
          turnsPerSecPerNode: perNode,
          note: `the leader's clusterLoad (decayed turns/s per node, read ${STATUS_BEFORE_END_MS / 1000} s before each window's end), mean over the rounds; 1/3 is even`,
          ...common,
        });
      }
    }
    emit({ name: `raw_request_skew_${tag}`, value: rawRate, unit: "msgs/s", p50Ms: percentile(lat("raw"), 50), p99Ms: percentile(lat("raw"), 99), ...common });
    emit({
      name: `skew_calls_on_over_off_${tag}`,
      value: rate("on") / rate("off"),
      unit: "×",
      p99OnOverOff: percentile(lat("on"), 99) / percentile(lat("off"), 99),
      note: "throughput with load balancing ÷ without, the same alternated rounds",
      ...common,
    });
    const sum = (ms: readonly LoadMap[]) => ms.reduce((t, m) => t + m.moves, 0);
    const all = moves.on.flatMap((m) => m.sample);
    emit({
      name: `skew_moves_${tag}`,
      value: sum(settleMaps),
      unit: "shards",
      maps: settleMaps.length,
      beforeLoad: sum(moves.on.slice(0, before)),
      duringMeasuredRounds: measuredMoves,
      total: sum(moves.on),
      distinctShards: new Set(all.map((x) => x.shard)).size,
      offHotNode: all.filter((x) => x.from === HOT_NODE).length,
      toHotNode: all.filter((x) => x.to === HOT_NODE).length,
      offClusterMoves: sum(moves.off),
      settled,
      note: "shard moves in map.published events with reason load while the skewed load ran until settled (each swap is two); beforeLoad: during activation and warm-up; duringMeasuredRounds: after it had settled",
      ...common,
    });
    // Why each map was made: the leader's own log line says which member it found overloaded.
    const leaderProc = nodes.on.find((p) => p.id === leaderOf.on);
    const said = (leaderProc?.logs ?? "").split("\n").flatMap((line) => {
      if (!line.includes("shard map published for load")) return [];
      try {
        const l = JSON.parse(line) as { version: number; overloaded: string[] };
        return [[l.version, l.overloaded] as const];
      } catch {
        return [];
      }
    });
    const overloadedBy = new Map(said);
    emit({
      name: `skew_load_maps_${tag}`,
      value: moves.on.length,
      unit: "maps",
      maps: moves.on.map((m) => ({
        phase: m.phase,
        inPhaseS: Number(m.inPhaseS.toFixed(2)),
        version: m.version,
        moves: m.sample.map((x) => `${x.shard}:${x.from}>${x.to}`).join(" "),
        overloadedAfter: overloadedBy.get(m.version),
        leaderSawAfter: m.viewAfter,
      })),
      note: "every map the on cluster's leader published for load: the bench's phase then, its moves, the members still overloaded after it, the leader's per-node turns/s just after",
      ...common,
    });
    emit({
      name: `skew_settle_s_${tag}`,
      value: settleS,
      unit: "s",
      firstMoveS: firstS,
      settled,
      settlePhaseS: settleWindow.seconds,
      settlePhaseCallsPerSec: settleWindow.calls / settleWindow.seconds,
      note: `from the skewed load's start to the last map for load (0: none); settled = no map for load in ${QUIET_MS / 1000} s after it`,
      ...common,
    });
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await closeAll();
    await Promise.all([...nodes.off, ...nodes.on].map((p) => p.stop()));
    if (rawPeer !== undefined) await stopChild(rawPeer);
  }
}

/** A map published for load, as the events said. */
interface LoadMap {
  at: number;
  /** The bench's phase when it came, and how far into it (s). */
  phase: string;
  inPhaseS: number;
  version: number;
  moves: number;
  sample: Move[];
  /** The leader's per-node turns/s and report ages just after. */
  viewAfter?: Record<string, { turnsPerSec: number; ageMs: number }>;
}

/** The turns/s per node the leader's clusterLoad shows. */
type TurnView = Record<string, number>;

async function leaderView(nc: NatsConnection, cluster: string, leader: string): Promise<TurnView | undefined> {
  const s: NodeStatus | undefined = await statusOf(nc, cluster, leader);
  const nodes = s?.clusterLoad?.nodes;
  return nodes === undefined ? undefined : Object.fromEntries(nodes.map((n) => [n.node, n.turnsPerSec]));
}

/** The hot and cold ids of a case: 900 cold ids (any placement), 100 hot ones by `placement`. */
function actorSets(map: ShardMap, placement: Placement): ActorSets {
  const cold = Array.from({ length: ACTORS - HOT }, (_, k) => `sk-${k}`);
  const hot: string[] = [];
  for (let k = ACTORS - HOT; hot.length < HOT; k++) {
    const id = `sk-${k}`;
    if (placement === "random" || ownerIn(map, busy.type, id) === HOT_NODE) hot.push(id);
  }
  return { hot, cold };
}

/** Per worker, a small PRNG (mulberry32), so each worker's sequence of actors is its own and repeatable. */
const seeds: number[] = [];
function rand(worker: number): number {
  const next = ((seeds[worker] ?? worker * 0x9e3779b9 + 1) + 0x6d2b79f5) | 0;
  seeds[worker] = next;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A hot actor with probability {@link HOT_SHARE}, else a cold one; uniform within each set. */
function pick(sets: ActorSets, worker: number): string {
  const list = rand(worker) < HOT_SHARE ? sets.hot : sets.cold;
  return list[Math.floor(rand(worker) * list.length)]!;
}

/**
 * A closed loop of `window` workers, each issuing `op` as soon as its last one ended, until
 * `done(issued)` says stop (checked before each issue). Failures are counted by code, not thrown.
 */
async function drive(window: number, op: (i: number, worker: number) => Promise<unknown>, done: (issued: number) => boolean): Promise<Window> {
  const out: Window = { calls: 0, errors: {}, seconds: 0, lat: [] };
  let issued = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (w: number) => {
    while (!done(issued)) {
      const i = issued++;
      const t = process.hrtime.bigint();
      try {
        await op(i, w);
        out.calls++;
        out.lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      } catch (err) {
        const code = ShoalError.is(err) ? err.code : (err as Error).name;
        out.errors[code] = (out.errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: window }, (_, w) => worker(w)));
  out.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return out;
}

/** {@link drive} for `ms` milliseconds at {@link WINDOW}. */
function timedWindow(ms: number, op: (worker: number) => Promise<unknown>): Promise<Window> {
  const end = performance.now() + ms;
  return drive(
    WINDOW,
    (_, w) => op(w),
    () => performance.now() >= end,
  );
}

async function readMap(nc: NatsConnection, cluster: string): Promise<ShardMap> {
  const kv = await new Kvm(nc).open(clusterBuckets(cluster).map);
  const e = await kv.get("map");
  if (e === null || e.length === 0) throw new Error(`cluster ${cluster} has no shard map`);
  return decodeMap(e.value);
}

function sumCpu(pids: ReadonlyArray<number | undefined>): number | undefined {
  let t = 0;
  for (const pid of pids) {
    const c = cpuMicros(pid);
    if (c === undefined) return undefined;
    t += c;
  }
  return t;
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function mergeCounts(xs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x)) out[k] = (out[k] ?? 0) + v;
  return out;
}
