import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { clusterBuckets, nodeAskSubject, nodeBatchSubject } from "../nats-names.js";
import { ownerIn } from "./actor-shard.js";
import { decodeMap, type ShardMap } from "./shard-map.js";

/** Key of the shard map in the cluster's map bucket. */
const MAP_KEY = "map";
/** The map is read again this often even when no write was heard (a missed one, a reconnect). */
const REFRESH_MS = 10_000;
/** Node subjects kept built; more nodes than this have come and gone when it fills. */
const MAX_SUBJECTS = 1024;

/** A node's own ingress subjects: one call (`…ask`), or a batch of calls (`…asks`). */
export interface NodeRoute {
  readonly ask: string;
  readonly batch: string;
}

/**
 * Which node an actor's calls go to, from the cluster's shard map (`shoal-map-<cluster>`, key
 * `map`): {@link route} names the owner's own ingress subjects. Routing only: a map that is
 * stale by a move costs the call one hop (the node it reaches routes it on), never correctness.
 *
 * How it follows the map: a plain subscription to the subject the map is written on
 * (`$KV.shoal-map-<cluster>.map`) says when to read it again (a KV get: a write that lost its
 * compare-and-set is heard too, but only what the bucket holds is used), plus a read at start and
 * every 10 s in case a write went unheard. No JetStream consumer and no timer that holds the
 * process: a client costs the server one subscription, and a closed connection ends it all.
 *
 * Until a map has been read, and whenever it cannot be (no such bucket yet, no permission, a
 * closed connection), {@link route} answers `undefined` and the caller uses the cluster's
 * shared ingress subject.
 */
export class OwnerRoutes {
  private map: ShardMap | undefined;
  private readonly routes = new Map<string, NodeRoute>();
  private readonly bucket: string;
  private kv: KV | undefined;
  private sub: Subscription | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
  ) {
    this.bucket = clusterBuckets(cluster).map;
  }

  /** Starts following the map (in the background; failures only delay routing by it). */
  start(): void {
    try {
      this.sub = this.nc.subscribe(`$KV.${this.bucket}.${MAP_KEY}`, { callback: () => this.refresh() });
    } catch {
      // A closed connection: nothing to follow.
      return;
    }
    void this.nc.closed().then(() => this.stop());
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref?.();
    this.refresh();
  }

  /** The owner's node ingress subject for actor `(type, id)`, or `undefined` when none is known. */
  subjectFor(type: string, id: string): string | undefined {
    return this.route(type, id)?.ask;
  }

  /** The subjects of the node that owns actor `(type, id)`, or `undefined` when none is known. */
  route(type: string, id: string): NodeRoute | undefined {
    const map = this.map;
    if (map === undefined) return undefined;
    const owner = ownerIn(map, type, id);
    if (owner === null || owner === undefined) return undefined;
    let route = this.routes.get(owner);
    if (route === undefined) {
      route = { ask: nodeAskSubject(this.cluster, owner), batch: nodeBatchSubject(this.cluster, owner) };
      this.routes.set(owner, route);
    }
    return route;
  }

  /** Stops following; {@link route} keeps answering from the last map. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    try {
      this.sub?.unsubscribe();
    } catch {
      // Already closed with its connection.
    }
  }

  /** Reads the map now (once at a time; a request meanwhile makes one more read after it). */
  private refresh(): void {
    if (this.stopped || this.nc.isClosed()) return;
    if (this.reading !== undefined) {
      this.readAgain = true;
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined;
      if (this.readAgain) {
        this.readAgain = false;
        this.refresh();
      }
    });
  }

  private async read(): Promise<void> {
    try {
      this.kv ??= await new Kvm(this.nc).open(this.bucket);
      const entry = await this.kv.get(MAP_KEY);
      if (entry !== null && entry.operation === "PUT") this.apply(entry.value);
    } catch {
      // No bucket yet, no permission, a closed connection: route through the shared subject meanwhile.
    }
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
    if (this.routes.size > MAX_SUBJECTS) this.routes.clear(); // nodes come and go
  }
}
