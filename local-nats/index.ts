/**
 * local-nats: a nats-server on this machine for the demo, the benchmarks and tests (Shoal's own
 * and its users'), and `shoal node` processes on it. Finds a nats-server >= 2.12 (env
 * `NATS_SERVER_BIN`, PATH, the cache, else Debian unstable's package downloaded into the cache),
 * starts it on free ports with a temp JetStream store, and kills every server and node it
 * started when this process exits. Env `NATS_URL` means: use that server, start nothing. Also a
 * TCP proxy that can cut or silence one client's link to the server (fault tests, the bench).
 */
export type { NatsBinary, RunningServer, StartOptions } from "./types.js";
export {
  compareVersions,
  findNatsServer,
  isSupportedNatsVersion,
  MIN_NATS_VERSION,
  natsSearchNotes,
  NO_NATS_SERVER_HELP,
  parseNatsVersion,
} from "./binary.js";
export { natsCacheDir, packageRoot } from "./cache-dir.js";
export { startNatsServer } from "./server.js";
export { SERVER_SETTINGS, serverSettingsConfig } from "./server-settings.js";
export { localNats, type LocalNats } from "./local.js";
export { freePorts } from "./ports.js";
export { makeTempDir, removeTempDir, trackChild } from "./processes.js";
export { NodeProcess, type NodeProcessOptions } from "./node-process.js";
export { startProxy, type TcpProxy } from "./proxy.js";
export { waitSettled } from "./settle.js";
export { bounded, waitFor, type WaitOptions } from "./wait.js";
