import type { Clock } from "../src/clock.js";
import type { Logger } from "../src/log.js";
import type { KvWatch } from "./kv.js";
import type { ShardMapStore, StoredMap } from "./map-store.js";
import type { ShardMap } from "./placement.js";
import type { MapView } from "./router.js";

/** Told of every newer map this node applies, with the one it replaces (undefined for the first). */
export type MapApplied = (before: ShardMap | undefined, next: ShardMap) => void;

/**
 * This node's view of the shard map: the newest map it has seen, from the map bucket's watch
 * and from reads that back the watch up. It owns the map; the router, the fence and migrations
 * read it. Applying a map is synchronous, so every part acts on it before another message is
 * dispatched.
 */
export class ShardMapView implements MapView {
  private stored: StoredMap | undefined;
  private watch: KvWatch | undefined;
  /** Set when the node starts to leave: no more reads, and waiters give up at the next wake. */
  private stopped = false;
  private watching = true;
  private reading: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private firstMap!: () => void;
  /** Resolves once this node holds a shard map (at once when joining a running cluster). */
  readonly mapped: Promise<void> = new Promise((resolve) => (this.firstMap = resolve));

  constructor(
    private readonly maps: ShardMapStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onApplied: MapApplied,
  ) {}

  /**
   * Watches the map bucket and re-reads it every `pollEvery` ms: a KV watch whose consumer lived
   * on a NATS server that died can stay silent for a long time.
   */
  async start(pollEvery: number): Promise<void> {
    this.watch = await this.maps.watch(
      (m) => this.apply(m),
      (err) => this.log.error({ err }, "ignored an undecodable shard map"),
    );
    this.poll(pollEvery);
  }

  /** The map this node routes by (undefined before the first). */
  current(): ShardMap | undefined {
    return this.stored?.map;
  }

  waitFor(until: (m: ShardMap | undefined) => boolean, timeoutMs: number): Promise<boolean> {
    if (until(this.current())) return Promise.resolve(true);
    // Someone needs a map this node has not seen (a peer's request carried a newer version):
    // read it now rather than trust the watch alone, which can lag after a NATS server dies.
    this.refresh();
    return new Promise((resolve) => {
      const check = () => {
        if (!until(this.current()) && !this.stopped) return;
        this.waiters.delete(check);
        timer.cancel();
        resolve(until(this.current()));
      };
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(check);
        resolve(until(this.current()));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Applies `next` if it is newer than the map held (by KV revision). */
  apply(next: StoredMap): void {
    const before = this.stored;
    if (before !== undefined && next.revision <= before.revision) return;
    this.stored = next;
    this.firstMap();
    this.onApplied(before?.map, next.map);
    for (const wake of [...this.waiters]) wake();
  }

  /** Reads the stored map and applies it if newer; one read at a time, failures only logged. */
  refresh(): void {
    if (this.stopped || this.reading !== undefined) return;
    this.reading = this.maps
      .read()
      .then((m) => {
        if (m !== undefined) this.apply(m);
      })
      .catch((err: unknown) => this.log.debug({ err: (err as Error)?.message }, "map re-read failed"))
      .finally(() => (this.reading = undefined));
  }

  /** Reads the stored map now and applies it if newer; rejects when the read fails. */
  async reread(): Promise<void> {
    const fresh = await this.maps.read();
    if (fresh !== undefined) this.apply(fresh);
  }

  /**
   * The node is leaving: no more reads, and whoever waits for a map gives up at the next map
   * (or at {@link stop}). The watch goes on: replies still owed are routed by the newest map.
   */
  leave(): void {
    this.stopped = true;
  }

  /** Ends the watch and the polling. */
  stopWatching(): void {
    this.stopped = true;
    this.watching = false;
    this.watch?.stop();
  }

  /** Everything is stopped: whoever still waits for a map is answered now. */
  stop(): void {
    this.stopWatching();
    for (const wake of [...this.waiters]) wake();
  }

  private poll(every: number): void {
    if (!this.watching) return;
    this.clock.setTimeout(() => {
      this.refresh();
      this.poll(every);
    }, every);
  }
}
