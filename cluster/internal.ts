/**
 * The cluster layer's parts, for the project's own tools, benchmarks and tests. Not part of the
 * published API (see `index.ts` for that): names here change without notice.
 * @internal
 */
export * from "../src/routing/shard-hash.js";
export * from "./placement.js";
export * from "./plan.js";
export * from "./groups.js";
export * from "./load-balance.js";
export * from "./pins.js";
export * from "../src/routing/actor-shard.js";
export * from "./kv.js";
export { MemoryKvBackend } from "./kv-memory.js";
export { NatsKvProvider } from "./kv-nats.js";
export { LeaderElection, type ElectionEvent, type ElectionOptions } from "./election.js";
export { Membership, type MemberRecord, type MembershipChange, type MembershipOptions } from "./membership.js";
export { ShardMapStore, ShardCountMismatchError, type StoredMap } from "./map-store.js";
export { encodeMap, decodeMap, type ShardGroup, type TenantPin } from "../src/routing/shard-map.js";
export { ShardManager, type ManagerOptions } from "./manager.js";
export { ClusterEvents, type ClusterEvent, type ClusterEventBody } from "./events.js";
export { ShoalNode, type NodeOptions, type NodeStatus } from "./node.js";
export { ShardMapView } from "./map-view.js";
export { OwnershipFence } from "./owner-fence.js";
export { defaultTiming, resolveTiming, type ClusterTiming } from "./config.js";
export { clusterBuckets, rpcSubject, statusSubject } from "../src/nats-names.js";
export { Router, type MapView, type RouterOptions } from "./router.js";
export { Migrations, type MigrationOptions } from "./migration.js";
export { NatsTransport, type Transport } from "./transport.js";
export type { RpcRequest, ForwardedAsk, HandoffBatch, TailEnd } from "./wire.js";
export { NodeMetrics } from "./metrics.js";
export { ClusterLoad, type ClusterLoadOptions, type HotActor, type NodeLoad, type ShardLoad } from "./cluster-load.js";
export { LoadService, type ClusterLoadSummary } from "./load-service.js";
export { HotWatch, type HotEventBody } from "./hot-watch.js";
export { decodeLoadReport, encodeLoadReport, type LoadReport } from "./load-report.js";
export { NodeHttp } from "./http/server.js";
export { gatherClusterStatus, type ClusterStatus, type NodeSummary } from "./cluster-status.js";
export { requestStatus, isSettled } from "./status.js";
