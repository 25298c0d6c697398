/**
 * The last resort when no nats-server binary can be had: the official image through
 * testcontainers, loaded lazily so a machine with a binary never touches Docker.
 */
import type { RunningServer, StartOptions } from "../../local-nats/index.js";

/** Pinned image (>= 2.12, see MIN_NATS_VERSION); env SHOAL_NATS_IMAGE overrides it. */
export const NATS_IMAGE = "nats:2.12.1-alpine";

let available: Promise<boolean> | undefined;

/** Whether testcontainers can reach a Docker (or compatible) engine. Never throws; memoized. */
export function dockerAvailable(): Promise<boolean> {
  available ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import("testcontainers");
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  return available;
}

/**
 * Starts nats-server in a container (JetStream on by default, `opts.config` appended to a
 * config file) and resolves once it logs "Server is ready". `kill`/`restart` are not supported.
 */
export async function startNatsContainer(opts: StartOptions = {}): Promise<RunningServer> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const conf = "/etc/nats/shoal.conf";
  // The image's entrypoint prefixes nats-server when the first argument is a flag.
  const args = [...((opts.jetstream ?? true) ? ["-js"] : []), ...(opts.config ? ["-c", conf] : [])];
  let container = new GenericContainer(process.env.SHOAL_NATS_IMAGE ?? NATS_IMAGE)
    .withCommand(args)
    .withExposedPorts(opts.port ? { container: 4222, host: opts.port } : 4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .withStartupTimeout(120_000);
  if (opts.config) container = container.withCopyContentToContainer([{ content: opts.config, target: conf }]);
  const started = await container.start();
  const port = started.getMappedPort(4222);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= started.stop().then(() => undefined);
    return stopped;
  };
  const unsupported = (op: string) => (): Promise<void> => Promise.reject(new Error(`${op} is not supported for containers; use a nats-server binary`));
  return {
    url: `nats://${started.getHost()}:${port}`,
    port,
    stop,
    kill: unsupported("kill"),
    restart: unsupported("restart"),
    [Symbol.asyncDispose]: stop,
  };
}
