/**
 * A kit for testing your own actors: {@link testRuntime} runs them in this process on an
 * in-memory store (no NATS); {@link startTestCluster} starts a real cluster, a nats-server and N
 * nodes hosting them, in this process, with a client to call them. Both clean up with
 * `await using`. Framework-agnostic: use it from vitest, node:test, jest…
 *
 * @module shoal/testing
 */
export { startTestCluster, ShoalTestCluster, type TestClusterOptions } from "./test-cluster.js";
export { testRuntime, type TestRuntimeOptions } from "./test-runtime.js";
