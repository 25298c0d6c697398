import { hostname } from "node:os";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { account } from "../../src/actors/account.js";
import { sequencer } from "../../src/actors/sequencer.js";
import type { ActorDefinition } from "../../src/actor/define.js";
import { ShoalNode } from "../../cluster/node.js";
import { defaultTiming } from "../../cluster/config.js";
import { NodeHttp } from "../../cluster/http/server.js";
import { NodeMetrics } from "../../cluster/metrics.js";
import { createLogger } from "../../src/log.js";
import { parse, positiveInt, UsageError } from "../args.js";
import { clusterSetting, connectionFlags, connectionHelp, connectionSettings, Settings } from "../settings.js";
import { connectTo } from "../connect.js";

export const nodeUsage = `shoal node --nats URL --id ID --cluster NAME [options]

Runs a cluster node: joins the membership, takes part in leader election, watches the
shard map, hosts the built-in "account" and "sequencer" actors and any --actors modules,
serves the ingress shoal.<cluster>.ask (routing each ask to the owner of its shard) and
takes part in live migration. SIGTERM or SIGINT drains it: the leader moves its shards
away, it hands them off, and exits 0 once it owns nothing (or after --drain-timeout).
With --http it also serves GET /healthz, /metrics (Prometheus), /status, /cluster, /events
(server-sent cluster events), / (dashboard) and POST /admin/drain (drains like SIGTERM).

${connectionHelp}
  --id ID           this node's id                       (env SHOAL_NODE_ID; default the hostname)
  --cluster NAME    cluster name [A-Za-z0-9_-]           (env SHOAL_CLUSTER; default "shoal")
  --actors PATH     a module exporting actor definitions (repeatable; env SHOAL_ACTORS, comma-separated)
  --replicas N      replicas of the event stream          (env SHOAL_REPLICAS; default 1)
  --shards N        shard count, fixed at cluster creation (env SHOAL_SHARDS; default ${defaultTiming.shardCount})
  --weight W        capacity relative to other nodes       (env SHOAL_WEIGHT; default 1)
  --heartbeat MS    membership heartbeat interval         (env SHOAL_HEARTBEAT; default ${defaultTiming.heartbeatInterval})
  --member-ttl MS   a silent member has left after this   (env SHOAL_MEMBER_TTL; default ${defaultTiming.memberTtl})
  --leader-ttl MS   the leader's lease                    (env SHOAL_LEADER_TTL; default ${defaultTiming.leaderTtl})
  --debounce MS     quiet time before the leader plans    (env SHOAL_DEBOUNCE; default ${defaultTiming.rebalanceDebounce})
  --drain-timeout MS  longest a drain may take            (env SHOAL_DRAIN_TIMEOUT; default 30000)
  --http PORT       serve HTTP on this port, all interfaces (env SHOAL_HTTP_PORT; default none)
  --startup-timeout MS  how long joining retries while NATS is not ready (env SHOAL_STARTUP_TIMEOUT; default 30000)
  --log-level L     pino level                            (env SHOAL_LOG_LEVEL; default info)`;

/** Keys a node's config file may hold: the flag names. */
const nodeConfigKeys = ["nats", "user", "password", "token", "creds", "tls-ca", "id", "cluster", "actors", "replicas", "shards", "weight", "heartbeat", "member-ttl", "leader-ttl", "debounce", "drain-timeout", "startup-timeout", "http", "log-level"];

export async function runNode(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...connectionFlags,
    id: { type: "string" },
    cluster: { type: "string" },
    actors: { type: "string", multiple: true },
    replicas: { type: "string" },
    shards: { type: "string" },
    weight: { type: "string" },
    heartbeat: { type: "string" },
    "member-ttl": { type: "string" },
    "leader-ttl": { type: "string" },
    debounce: { type: "string" },
    "drain-timeout": { type: "string" },
    "startup-timeout": { type: "string" },
    http: { type: "string" },
    "log-level": { type: "string" },
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
  };
  const drainTimeout = positiveInt("drain-timeout", settings.get("drain-timeout", ["SHOAL_DRAIN_TIMEOUT"]), 30_000);
  const httpFlag = settings.get("http", ["SHOAL_HTTP_PORT"]);
  const httpPort = httpFlag === undefined ? undefined : positiveInt("http", httpFlag, 0);
  if (httpPort !== undefined && httpPort > 65535) throw new UsageError(`--http must be a port (1-65535), got ${httpPort}`);
  const modules = settings.list("actors", "SHOAL_ACTORS");
  const log = createLogger({ node: nodeId, cluster }, settings.get("log-level", []));

  const actors: ActorDefinition[] = [account, sequencer];
  for (const m of modules) actors.push(...(await loadActors(m)));
  const nc = await connectTo(url, `shoal-node-${nodeId}`, auth);
  const metrics = httpPort === undefined ? undefined : new NodeMetrics({ cluster, node: nodeId, types: actors.map((a) => a.type) });
  const meta = httpPort === undefined ? undefined : { http: String(httpPort) };
  let node: ShoalNode;
  try {
    const startupTimeout = positiveInt("startup-timeout", settings.get("startup-timeout", ["SHOAL_STARTUP_TIMEOUT"]), 30_000);
    node = await ShoalNode.start({ nc, cluster, nodeId, actors, replicas, logger: log, meta, hooks: metrics?.hooks, startupTimeout, ...timing });
  } catch (err) {
    await nc.close();
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  let stopRequested!: (why: string) => void;
  const stopping = new Promise<string>((resolve) => (stopRequested = resolve));
  let http: NodeHttp | undefined;
  if (metrics !== undefined) {
    metrics.attach(node);
    try {
      // Before the first map: /healthz answers 503 until the node is ready.
      http = await NodeHttp.start({ port: httpPort!, node, nc, metrics, logger: log, onDrain: () => stopRequested("POST /admin/drain") });
    } catch (err) {
      await node.stop();
      await nc.close();
      throw new Error(`cannot serve HTTP on port ${httpPort}: ${(err as Error).message}`);
    }
    log.info({ url: `http://${hostname()}:${http.port}/`, port: http.port }, "http listening");
  }
  await node.mapped;
  log.info({ nats: url, mapVersion: node.map?.version, http: http?.port }, "node ready");

  process.once("SIGTERM", () => stopRequested("SIGTERM"));
  process.once("SIGINT", () => stopRequested("SIGINT"));
  log.info({ signal: await stopping }, "stopping");
  const complete = await node.drain(drainTimeout);
  log.info({ complete }, "drained");
  await http?.stop();
  await nc.drain();
  return 0;
}

/** Imports a user module and collects every exported actor definition. */
async function loadActors(path: string): Promise<ActorDefinition[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot load actors from ${path}: ${(err as Error).message}`);
  }
  const found: ActorDefinition[] = [];
  const consider = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(consider);
    else if (typeof v === "object" && v !== null && "kind" in v && "type" in v && "handle" in v) found.push(v as ActorDefinition);
  };
  Object.values(mod).forEach(consider);
  if (found.length === 0) throw new UsageError(`${path} exports no actor definitions (defineActor / defineInMemoryActor)`);
  return [...new Map(found.map((d) => [d.type, d])).values()];
}
