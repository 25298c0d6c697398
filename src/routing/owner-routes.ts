import { type KvWatchEntry, Kvm } from "@nats-io/kv";
import type { NatsConnection, QueuedIterator } from "@nats-io/transport-node";
import { clusterBuckets, nodeAskSubject, nodeBatchSubject } from "../nats-names.js";
import { shardOf } from "./shard-hash.js";
import { decodeMap, type ShardMap } from "./shard-map.js";

/** Key of the shard map in the cluster's map bucket. */
const MAP_KEY = "map";
/** First wait before following the map again after the watch failed or ended; doubles up to the max. */
const RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** Node subjects kept built; more nodes than this have come and gone when it fills. */
const MAX_SUBJECTS = 1024;

/** A node's own ingress subjects: one call (`…ask`), or a batch of calls (`…asks`). */
export interface NodeRoute {
  readonly ask: string;
  readonly batch: string;
}

/**
 * Which node an actor's calls go to, from the cluster's shard map: a watch on the map bucket
 * (`shoal-map-<cluster>`, key `map`) keeps the newest map, and {@link subjectFor} names the
 * owner's own ingress subject. Routing only: a map that is stale by a move costs the call one
 * hop (the node it reaches routes it on), never correctness.
 *
 * Until a map has arrived, and whenever the watch cannot run (no such bucket yet, no JetStream
 * permission, a closed connection), {@link subjectFor} answers `undefined` and the caller uses the
 * cluster's shared ingress subject; the watch is tried again, backing off to every 30 s.
 */
export class OwnerRoutes {
  private map: ShardMap | undefined;
  private readonly routes = new Map<string, NodeRoute>();
  private watch: QueuedIterator<KvWatchEntry> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private retryMs = RETRY_MS;

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
  ) {}

  /** Starts following the map (in the background; failures only delay routing by it). */
  start(): void {
    void this.follow();
  }

  /** The newest map seen, if any. */
  get current(): ShardMap | undefined {
    return this.map;
  }

  /** The owner's node ingress subject for actor `(type, id)`, or `undefined` when none is known. */
  subjectFor(type: string, id: string): string | undefined {
    return this.route(type, id)?.ask;
  }

  /** The subjects of the node that owns actor `(type, id)`, or `undefined` when none is known. */
  route(type: string, id: string): NodeRoute | undefined {
    const map = this.map;
    if (map === undefined) return undefined;
    const owner = map.owners[shardOf(type, id, map.shardCount)];
    if (owner === null || owner === undefined) return undefined;
    let route = this.routes.get(owner);
    if (route === undefined) {
      route = { ask: nodeAskSubject(this.cluster, owner), batch: nodeBatchSubject(this.cluster, owner) };
      this.routes.set(owner, route);
    }
    return route;
  }

  /** Stops the watch; {@link subjectFor} keeps answering from the last map. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.stop();
  }

  private async follow(): Promise<void> {
    try {
      const kv = await new Kvm(this.nc).open(clusterBuckets(this.cluster).map);
      if (this.stopped) return;
      this.watch = await kv.watch({ key: MAP_KEY });
      if (this.stopped) return this.watch.stop();
      for await (const entry of this.watch) {
        if (entry.operation !== "PUT") continue;
        this.apply(entry.value);
      }
    } catch {
      // No bucket yet, no permission, a closed connection: route through the shared subject meanwhile.
    }
    this.watch = undefined;
    if (this.stopped || this.nc.isClosed()) return;
    this.timer = setTimeout(() => void this.follow(), this.retryMs);
    this.timer.unref?.();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private apply(bytes: Uint8Array): void {
    let map: ShardMap;
    try {
      map = decodeMap(bytes);
    } catch {
      return; // a map this client cannot read: keep routing by the last one
    }
    if (this.map !== undefined && map.version < this.map.version) return;
    this.map = map;
    this.retryMs = RETRY_MS;
    if (this.routes.size > MAX_SUBJECTS) this.routes.clear(); // nodes come and go
  }
}
