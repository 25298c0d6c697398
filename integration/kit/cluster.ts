/**
 * A JetStream cluster of nats-server processes on one machine, ready once a meta leader is
 * elected and every server follows it.
 */
import { freePorts, makeTempDir, type StartOptions, waitFor } from "../../local-nats/index.js";
import { NatsProcess, requireBinary, ServerStartError } from "../../local-nats/server.js";
import type { RunningCluster } from "./types.js";

const START_ATTEMPTS = 3;

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean }[] };
}

async function jsz(server: NatsProcess): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`${server.monitorUrl}/jsz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as Jsz) : undefined;
  } catch {
    return undefined;
  }
}

/** Every server names the same meta leader, and the leader sees all its peers current. */
async function metaReady(servers: NatsProcess[]): Promise<boolean> {
  const views = await Promise.all(servers.map(jsz));
  const leader = views[0]?.meta_cluster?.leader;
  if (!leader || views.some((v) => v?.meta_cluster?.leader !== leader)) return false;
  const fromLeader = views[servers.findIndex((s) => s.name === leader)]?.meta_cluster;
  const peers = fromLeader?.replicas ?? [];
  return peers.length === servers.length - 1 && peers.every((p) => p.current);
}

/**
 * Starts `n` JetStream servers routed into one cluster (distinct `server_name`s `shoal-1`…,
 * own store dirs, free ports) and resolves once the JetStream meta leader is elected and all
 * peers are current, so an R`n` stream can be created at once. Needs a local binary.
 */
export async function startNatsCluster(n = 3, opts: StartOptions = {}): Promise<RunningCluster> {
  const binary = await requireBinary(opts);
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(3 * n);
    const routePort = (i: number): number => ports[3 * i + 2]!;
    const servers: NatsProcess[] = [];
    for (let i = 0; i < n; i++) {
      const routes = [...Array(n).keys()].filter((j) => j !== i).map((j) => `"nats-route://127.0.0.1:${routePort(j)}"`);
      const cluster = `cluster {\n  name: "shoal-kit"\n  listen: "127.0.0.1:${routePort(i)}"\n  routes: [${routes.join(", ")}]\n}`;
      servers.push(
        new NatsProcess({
          binary,
          dir: makeTempDir(),
          name: `shoal-${i + 1}`,
          port: ports[3 * i]!,
          httpPort: ports[3 * i + 1]!,
          jetstream: opts.jetstream ?? true,
          extra: `${cluster}\n${opts.config ?? ""}`,
          debug: opts.debug ?? false,
        }),
      );
    }
    const stop = async (): Promise<void> => {
      await Promise.all(servers.map((s) => s.stop()));
    };
    try {
      // All at once: with JetStream no single server is healthy before a quorum exists.
      await Promise.all(servers.map((s) => s.start()));
      if (opts.jetstream ?? true) {
        await waitFor(() => metaReady(servers), { timeout: 30_000, message: "JetStream meta leader not elected" });
      }
      return { servers, urls: servers.map((s) => s.url), stop, [Symbol.asyncDispose]: stop };
    } catch (err) {
      await stop();
      if (!(err instanceof ServerStartError && err.addrInUse && attempt < START_ATTEMPTS)) throw err;
    }
  }
}
