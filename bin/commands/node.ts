import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { account } from "../../src/actors/account.js";
import { sequencer } from "../../src/actors/sequencer.js";
import { checkRoles } from "../../src/actor/names.js";
import type { ActorDefinition } from "../../src/actor/spec.js";
import type { ProjectionDefinition } from "../../src/projection/spec.js";
import { accountBalances } from "../../src/projections/account-balances.js";
import type { LoadBalancing } from "../../cluster/manager.js";
import { ShoalNode } from "../../cluster/node.js";
import { defaultTiming } from "../../cluster/config.js";
import type { NodeHttp } from "../../cluster/http/server.js";
import { NodeMetrics } from "../../cluster/metrics.js";
import { createLogger, LOG_FORMATS, type LogFormat, type Logger, logFormat } from "../../src/log.js";
import { parse, positiveInt, UsageError } from "../args.js";
import { clusterSetting, connectionFlags, connectionHelp, connectionSettings, Settings } from "../settings.js";
import { connectTo } from "../connect.js";
import { nodeHttpFlags, nodeHttpHelp, nodeHttpKeys, nodeHttpSettings, startNodeHttp } from "./node-http.js";
import { nodeLoadFlags, nodeLoadHelp, nodeLoadKeys, nodeLoadSettings } from "./node-load.js";
import { StopRequests } from "./node-stop.js";

export const nodeUsage = `shoal node --nats URL --id ID --cluster NAME [options]

Runs a cluster node: joins the membership, takes part in leader election, watches the
shard map, hosts the built-in "account" and "sequencer" actors and any --actors modules,
runs its share of the built-in "account-balances" projection and of the modules' projections,
serves the ingress shoal.<cluster>.ask (routing each ask to the owner of its shard) and
takes part in live migration. SIGTERM or SIGINT drains it: the leader moves its shards
away, it hands them off, and exits 0 once it owns nothing (or after --drain-timeout).
With --http it also serves GET /healthz, /metrics (Prometheus), /status, /cluster, /events
(server-sent cluster events), / (dashboard) and POST /admin/drain (drains like SIGTERM).
HTTP listens on 127.0.0.1 unless --http-host says otherwise; POST /admin/drain then needs
the admin token (Authorization: Bearer <token>), and without one it is refused.

${connectionHelp}
  --id ID           this node's id                       (env SHOAL_NODE_ID; default the hostname)
  --cluster NAME    cluster name [A-Za-z0-9_-]           (env SHOAL_CLUSTER; default "shoal")
  --actors PATH     a module exporting actor and projection definitions (repeatable; env SHOAL_ACTORS, comma-separated)
  --roles R,R       this node's roles: it also hosts the types bound to one of them (env SHOAL_ROLES)
  --builtin-projections on|off  run "account-balances"      (env SHOAL_BUILTIN_PROJECTIONS; default on)
  --replicas N      replicas of the event stream          (env SHOAL_REPLICAS; default 1)
  --shards N        shard count, fixed at cluster creation (env SHOAL_SHARDS; default ${defaultTiming.shardCount})
  --weight W        capacity relative to other nodes       (env SHOAL_WEIGHT; default 1)
  --heartbeat MS    membership heartbeat interval         (env SHOAL_HEARTBEAT; default ${defaultTiming.heartbeatInterval})
  --member-ttl MS   a silent member has left after this   (env SHOAL_MEMBER_TTL; default ${defaultTiming.memberTtl})
  --leader-ttl MS   the leader's lease                    (env SHOAL_LEADER_TTL; default ${defaultTiming.leaderTtl})
  --debounce MS     quiet time before the leader plans    (env SHOAL_DEBOUNCE; default ${defaultTiming.rebalanceDebounce})
  --probe-interval MS  how often peers are probed for a closed connection (env SHOAL_PROBE_INTERVAL; default ${defaultTiming.probeInterval})
  --probe-confirm MS   a peer absent on two probes this far apart crashed (env SHOAL_PROBE_CONFIRM; default ${defaultTiming.probeConfirm})
  --load-balance F  on the leader, swap hot shards off a node whose load is over F × its fair share (env SHOAL_LOAD_BALANCE; default off)
  --load-balance-moves K  most shard moves per look, each swap two (env SHOAL_LOAD_BALANCE_MOVES; default 8)
  --load-balance-interval MS  how often the leader looks        (env SHOAL_LOAD_BALANCE_INTERVAL; default 10000)
  --drain-timeout MS  longest a drain may take            (env SHOAL_DRAIN_TIMEOUT; default 30000)
${nodeHttpHelp}
${nodeLoadHelp}
  --startup-timeout MS  how long joining retries while NATS is not ready (env SHOAL_STARTUP_TIMEOUT; default 30000)
  --log-level L     pino level                            (env SHOAL_LOG_LEVEL; default info)
  --log-format F    json or pretty                        (env SHOAL_LOG_FORMAT; default pretty on a terminal, else json)`;

/** Keys a node's config file may hold: the flag names. */
const nodeConfigKeys = [
  ...[
    "nats",
    "user",
    "password",
    "token",
    "creds",
    "tls-ca",
    "id",
    "cluster",
    "actors",
    "roles",
    "builtin-projections",
    "replicas",
    "shards",
    "weight",
    "heartbeat",
  ],
  ...[
    "member-ttl",
    "leader-ttl",
    "debounce",
    "probe-interval",
    "probe-confirm",
    "drain-timeout",
    "load-balance",
    "load-balance-moves",
    "load-balance-interval",
    "startup-timeout",
    "log-level",
    "log-format",
    ...nodeHttpKeys,
    ...nodeLoadKeys,
  ],
];

export async function runNode(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...connectionFlags,
    ...nodeHttpFlags,
    ...nodeLoadFlags,
    id: { type: "string" },
    cluster: { type: "string" },
    actors: { type: "string", multiple: true },
    roles: { type: "string", multiple: true },
    "builtin-projections": { type: "string" },
    replicas: { type: "string" },
    shards: { type: "string" },
    weight: { type: "string" },
    heartbeat: { type: "string" },
    "member-ttl": { type: "string" },
    "leader-ttl": { type: "string" },
    debounce: { type: "string" },
    "probe-interval": { type: "string" },
    "probe-confirm": { type: "string" },
    "drain-timeout": { type: "string" },
    "load-balance": { type: "string" },
    "load-balance-moves": { type: "string" },
    "load-balance-interval": { type: "string" },
    "startup-timeout": { type: "string" },
    "log-level": { type: "string" },
    "log-format": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(nodeUsage);
    return 0;
  }
  const settings = Settings.load(values, nodeConfigKeys);
  const { url, auth } = connectionSettings(settings);
  const nodeId = settings.get("id", ["SHOAL_NODE_ID", "HOSTNAME"], "node-1")!;
  const cluster = clusterSetting(settings);
  const replicasFlag = settings.get("replicas", ["SHOAL_REPLICAS"]);
  const replicas = replicasFlag === undefined ? undefined : positiveInt("replicas", replicasFlag, 1);
  const timing = {
    shardCount: positiveInt("shards", settings.get("shards", ["SHOAL_SHARDS"]), defaultTiming.shardCount),
    weight: positiveInt("weight", settings.get("weight", ["SHOAL_WEIGHT"]), defaultTiming.weight),
    heartbeatInterval: positiveInt("heartbeat", settings.get("heartbeat", ["SHOAL_HEARTBEAT"]), defaultTiming.heartbeatInterval),
    memberTtl: positiveInt("member-ttl", settings.get("member-ttl", ["SHOAL_MEMBER_TTL"]), defaultTiming.memberTtl),
    leaderTtl: positiveInt("leader-ttl", settings.get("leader-ttl", ["SHOAL_LEADER_TTL"]), defaultTiming.leaderTtl),
    rebalanceDebounce: positiveInt("debounce", settings.get("debounce", ["SHOAL_DEBOUNCE"]), defaultTiming.rebalanceDebounce),
    probeInterval: positiveInt("probe-interval", settings.get("probe-interval", ["SHOAL_PROBE_INTERVAL"]), defaultTiming.probeInterval),
    probeConfirm: positiveInt("probe-confirm", settings.get("probe-confirm", ["SHOAL_PROBE_CONFIRM"]), defaultTiming.probeConfirm),
  };
  const drainTimeout = positiveInt("drain-timeout", settings.get("drain-timeout", ["SHOAL_DRAIN_TIMEOUT"]), 30_000);
  const loadBalance = loadBalanceSetting(settings);
  const startupTimeout = positiveInt("startup-timeout", settings.get("startup-timeout", ["SHOAL_STARTUP_TIMEOUT"]), 30_000);
  const httpSettings = nodeHttpSettings(settings);
  const load = nodeLoadSettings(settings);
  const modules = settings.list("actors", "SHOAL_ACTORS");
  const roles = settings
    .list("roles", "SHOAL_ROLES")
    .flatMap((r) => r.split(","))
    .filter((r) => r !== "");
  try {
    if (roles.length > 0) checkRoles(roles, "--roles");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const log = createLogger({ node: nodeId, cluster }, settings.get("log-level", []), logFormatSetting(settings));

  const builtin = settings.get("builtin-projections", ["SHOAL_BUILTIN_PROJECTIONS"], "on");
  if (builtin !== "on" && builtin !== "off") throw new UsageError(`--builtin-projections must be on or off, got ${JSON.stringify(builtin)}`);
  const actors: ActorDefinition[] = [account, sequencer];
  const projections: ProjectionDefinition[] = builtin === "on" ? [accountBalances] : [];
  for (const m of modules) {
    const loaded = await loadModule(m);
    actors.push(...loaded.actors);
    projections.push(...loaded.projections);
  }
  const stop = new StopRequests(log);
  try {
    // HTTP first: a port in use fails here, before the node joins the cluster.
    const http = httpSettings === undefined ? undefined : await startNodeHttp(httpSettings, cluster, log, () => stop.request("POST /admin/drain"));
    try {
      const nc = await connectTo(url, `shoal-node-${nodeId}`, auth);
      const metrics = http === undefined ? undefined : new NodeMetrics({ cluster, node: nodeId, types: actors.map((a) => a.type) });
      const meta = http === undefined ? undefined : { http: String(http.port) };
      let node: ShoalNode;
      try {
        node = await ShoalNode.start({
          nc,
          cluster,
          nodeId,
          actors,
          projections: unique(projections),
          replicas,
          logger: log,
          meta,
          roles,
          ...(loadBalance === undefined ? {} : { loadBalance }),
          hooks: metrics?.hooks,
          startupTimeout,
          load,
          ...timing,
        });
      } catch (err) {
        await nc.close();
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      stop.listen();
      if (metrics !== undefined) {
        metrics.attach(node);
        http!.attach({ node, nc, metrics });
      }
      return await serve(node, nc, http, stop, drainTimeout, log, url);
    } finally {
      await http?.stop();
    }
  } finally {
    stop.dispose();
  }
}

/** Runs `node` until it is asked to stop, then drains it; resolves to the exit code. */
async function serve(
  node: ShoalNode,
  nc: NatsConnection,
  http: NodeHttp | undefined,
  stop: StopRequests,
  drainTimeout: number,
  log: Logger,
  url: string,
): Promise<number> {
  const ready = await Promise.race([node.mapped.then(() => true), stop.reason.then(() => false)]);
  if (ready) log.info({ nats: url, mapVersion: node.map?.version, http: http?.port }, "node ready");
  log.info({ why: await stop.reason }, "stopping");
  const complete = await node.drain(drainTimeout);
  log.info({ complete }, "drained");
  await http?.stop();
  await nc.drain();
  return 0;
}

/** `--load-balance F` and its companions: undefined (off) unless F is given; F must be a number > 1. */
function loadBalanceSetting(s: Settings): LoadBalancing | undefined {
  const f = s.get("load-balance", ["SHOAL_LOAD_BALANCE"]);
  if (f === undefined || f === "off") return undefined;
  const factor = Number(f);
  if (!(Number.isFinite(factor) && factor > 1)) throw new UsageError(`--load-balance must be a number above 1 (or off), got ${JSON.stringify(f)}`);
  return {
    factor,
    maxMoves: positiveInt("load-balance-moves", s.get("load-balance-moves", ["SHOAL_LOAD_BALANCE_MOVES"]), 8),
    interval: positiveInt("load-balance-interval", s.get("load-balance-interval", ["SHOAL_LOAD_BALANCE_INTERVAL"]), 10_000),
  };
}

/** `--log-format` / `SHOAL_LOG_FORMAT` / config "log-format", checked (unset: decided by the logger). */
function logFormatSetting(s: Settings): LogFormat | undefined {
  const asked = s.get("log-format", ["SHOAL_LOG_FORMAT"]);
  try {
    return asked === undefined ? undefined : logFormat(asked, false);
  } catch {
    throw new UsageError(`--log-format must be ${LOG_FORMATS.join(" or ")}, got ${JSON.stringify(asked)}`);
  }
}

/** Imports a user module and collects every exported actor and projection definition. */
async function loadModule(path: string): Promise<{ actors: ActorDefinition[]; projections: ProjectionDefinition[] }> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot load actors from ${path}: ${(err as Error).message}`);
  }
  const actors: ActorDefinition[] = [];
  const projections: ProjectionDefinition[] = [];
  const consider = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(consider);
    else if (typeof v !== "object" || v === null || !("kind" in v)) return;
    else if (v.kind === "projection" && "name" in v) projections.push(v as ProjectionDefinition);
    else if ("type" in v && "handle" in v) actors.push(v as ActorDefinition);
  };
  Object.values(mod).forEach(consider);
  if (actors.length === 0 && projections.length === 0) {
    throw new UsageError(`${path} exports no actor or projection definitions (defineActor / defineInMemoryActor / defineProjection)`);
  }
  return { actors: [...new Map(actors.map((d) => [d.type, d])).values()], projections };
}

/** One projection per name (the last given wins: a module may replace a built-in). */
function unique(projections: readonly ProjectionDefinition[]): ProjectionDefinition[] {
  return [...new Map(projections.map((p) => [p.name, p])).values()];
}
