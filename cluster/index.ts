/**
 * Running Shoal in your own process: {@link ShoalNode} joins a cluster as a full member (hosts
 * actors, routes calls, takes part in placement and live migration); {@link Runtime} runs actors
 * in one process without a cluster. The `shoal node` command is a ShoalNode with HTTP and
 * metrics around it.
 *
 * @module shoal/node
 */
export { ShoalNode } from "./node.js";
export type { NodeHooks, NodeOptions } from "./node-options.js";
export type { NodeIdentity } from "../src/host.js";
export type { NodeStatus, SingletonStatus } from "./status.js";
export type { LoadOptions } from "./load-options.js";
export type { HotActor, NodeLoad, ShardLoad } from "./cluster-load.js";
export type { ClusterLoadSummary, HotActorRow, ShardLoadRow } from "./load-service.js";
export type { MemberRecord } from "./membership.js";
export type { RequestRates, RequestStatsSummary, TypeRequestRates } from "./request-stats.js";
export type { SparseHistogram } from "./latency-histogram.js";
export { type ClusterTiming, defaultTiming } from "./config.js";
export { Runtime, type RuntimeOptions, type RuntimeStats } from "../src/runtime/runtime.js";
export type { ActorKey, BatchMeta, EventStore, LoadedJournal, Snapshot, StoredEvent } from "../src/store/types.js";
export { MemoryEventStore } from "../src/store/memory.js";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "../src/clock.js";
export { createLogger, type LogFormat, type Logger } from "../src/log.js";
export type { MigrationEnded } from "./migration.js";
export type { LoadBalancing } from "./manager.js";
export type { ActorReplay, ActorReplayed, ProjectionReplay, ProjectionReplayed, ReplayRequest, ReplayResult } from "./replay.js";
export type { PartitionStatus } from "./projections/service.js";
export type { RunnerState } from "./projections/runner.js";
