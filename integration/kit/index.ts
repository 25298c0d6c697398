/**
 * The real-server test kit: nats-server processes, clusters and containers for tests, the
 * demo and benchmarks. (vitest's globalSetup lives apart in global-setup.ts.)
 */
export type { NatsBinary, RunningCluster, RunningServer, StartOptions } from "./types.js";
export {
  compareVersions,
  findNatsServer,
  isSupportedNatsVersion,
  MIN_NATS_VERSION,
  natsCacheDir,
  natsSearchNotes,
  NO_NATS_SERVER_HELP,
  parseNatsVersion,
} from "./binary.js";
export { startNatsServer } from "./server.js";
export { startNatsCluster } from "./cluster.js";
export { dockerAvailable, NATS_IMAGE, startNatsContainer } from "./docker.js";
export { natsForTests, resolveNats, startServer, type NatsSource, type TestNats } from "./launcher.js";
export { bounded, waitFor, type WaitOptions } from "./wait.js";
export { NodeProcess, type NodeProcessOptions } from "./node-process.js";
export { waitSettled } from "./settle.js";
export { addStream, waitStreamReady } from "./stream-ready.js";
export { startProxy, type TcpProxy } from "./proxy.js";
export { TestCluster, type TestClusterOptions } from "./test-cluster.js";
