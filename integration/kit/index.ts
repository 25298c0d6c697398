/**
 * The real-server test kit: local-nats (`local-nats/`, servers and node processes on this
 * machine, and the TCP proxy that cuts or silences a client's link) plus what only tests need: a
 * Docker fallback, 3-server clusters, stream helpers and TestCluster. (vitest's globalSetup lives apart in
 * global-setup.ts.)
 */
export type { NatsBinary, RunningServer, StartOptions } from "../../local-nats/index.js";
export type { RunningCluster } from "./types.js";
export {
  bounded,
  compareVersions,
  findNatsServer,
  freePorts,
  isSupportedNatsVersion,
  MIN_NATS_VERSION,
  natsCacheDir,
  natsSearchNotes,
  NO_NATS_SERVER_HELP,
  NodeProcess,
  type NodeProcessOptions,
  parseNatsVersion,
  SERVER_SETTINGS,
  startNatsServer,
  startProxy,
  type TcpProxy,
  trackChild,
  waitFor,
  type WaitOptions,
  waitSettled,
} from "../../local-nats/index.js";
export { startNatsCluster } from "./cluster.js";
export { dockerAvailable, NATS_IMAGE, startNatsContainer } from "./docker.js";
export { natsForTests, resolveNats, startServer, type NatsSource, type TestNats } from "./launcher.js";
export { addStream, waitStreamReady } from "./stream-ready.js";
export { TestCluster, type TestClusterOptions } from "./test-cluster.js";
