import type { Clock, TimerHandle } from "../../src/clock.js";
import type { Logger } from "../../src/log.js";
import type { ProjectionBucket } from "../../src/projection/bucket.js";
import { buildFilter, type Checkpoint, checkpointKey, META_KEY, type ProjectionMeta } from "../../src/projection/layout.js";
import type { ProjectionEventBody } from "../events.js";
import { commitAtomically } from "./commit.js";

/** A build takes over once every partition has this few journal batches left to read. */
export const SWITCH_LAG_BOUND = 1000;
/** A retired build's keys are purged this long after the switch (ms): readers that read `_meta` just before finish. */
export const RETIRED_GRACE_MS = 10_000;

/**
 * Blue-green rebuilds. A build made beside the serving one takes over reads in three steps,
 * driven by the node running its partition 0 after each of its commits:
 * 1. once every partition of the new build is within {@link SWITCH_LAG_BOUND} batches of the
 *    journal's end, `_meta.freezing` names the serving build: its partitions stop committing
 *    (reads still go to it; they age by the time the new build takes to catch up);
 * 2. once the new build's every checkpoint is at or past the old build's furthest one, one atomic
 *    batch marks every old checkpoint retired (each expecting the revision read, so an old
 *    partition that committed meanwhile fails it) and makes the new build `serving` in `_meta`:
 *    a read after the switch sees every event a read before it saw;
 * 3. after {@link RETIRED_GRACE_MS} the old build's keys are purged.
 */
export class BuildSwitch {
  private busy = false;
  private last = 0;
  private purgeTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly bucket: ProjectionBucket,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly publish: (body: ProjectionEventBody) => void,
    private readonly name: string,
  ) {}

  /** One step towards switching to `meta.building`, at most once a second. */
  async consider(seen: ProjectionMeta): Promise<void> {
    if (this.stopped || seen.building === undefined || this.busy || this.clock.now() - this.last < 1000) return;
    this.busy = true;
    this.last = this.clock.now();
    try {
      await this.step();
    } catch (err) {
      this.log.warn({ err, projection: this.name }, "projection switch step failed; tried again");
    } finally {
      this.busy = false;
    }
  }

  private async step(): Promise<void> {
    const { value: meta, revision } = await this.bucket.meta();
    if (meta?.building === undefined) return;
    const next = await this.bucket.checkpoints(meta, meta.building);
    if (next.some((c) => c.value === undefined || c.value.stopped !== undefined || c.value.pending > SWITCH_LAG_BOUND)) return;
    if (meta.freezing !== meta.serving) {
      await this.bucket.write(META_KEY, { ...meta, freezing: meta.serving }, revision);
      return;
    }
    const old = await this.bucket.checkpoints(meta, meta.serving);
    const oldFurthest = Math.max(0, ...old.map((c) => c.value?.seq ?? 0));
    const newLeast = Math.min(...next.map((c) => c.value!.seq));
    if (newLeast < oldFurthest) return;
    const now = this.clock.now();
    const writes = old.map((c, k) => ({
      key: checkpointKey(meta.serving, k),
      json: JSON.stringify({ ...(c.value ?? {}), retired: true } as Partial<Checkpoint>),
      revision: c.revision,
    }));
    const { freezing: _, building: __, ...rest } = meta;
    const switched: ProjectionMeta = { ...rest, serving: meta.building, retired: { ...(meta.retired ?? {}), [String(meta.serving)]: now } };
    await commitAtomically(this.bucket, writes, { key: META_KEY, json: JSON.stringify(switched), revision });
    this.log.info({ projection: this.name, from: meta.serving, to: meta.building }, "projection build switched");
    this.publish({ type: "projection", phase: "switched", projection: this.name, build: meta.building });
  }

  /** No more steps or purges (the node is stopping). */
  stop(): void {
    this.stopped = true;
    this.purgeTimer?.cancel();
  }

  /** Purges retired builds past their grace (any node may; purging twice is harmless). */
  async purgeRetired(meta: ProjectionMeta): Promise<void> {
    if (this.stopped) return;
    const retired = Object.entries(meta.retired ?? {});
    if (retired.length === 0) return;
    const now = this.clock.now();
    const due = retired.filter(([, at]) => now - at >= RETIRED_GRACE_MS);
    if (due.length < retired.length) {
      const wait = Math.min(...retired.map(([, at]) => at + RETIRED_GRACE_MS - now));
      this.purgeTimer?.cancel();
      this.purgeTimer = this.clock.setTimeout(() => {
        if (this.stopped) return;
        this.bucket.meta().then(
          ({ value }) => (value === undefined ? undefined : this.purgeRetired(value)),
          (err: unknown) => this.log.debug({ err, projection: this.name }, "could not read _meta to purge retired builds"),
        );
      }, Math.max(0, wait) + 50);
    }
    if (due.length === 0) return;
    try {
      for (const [build] of due) await this.bucket.purge(buildFilter(Number(build)));
      const { value, revision } = await this.bucket.meta();
      if (value === undefined) return;
      const left = Object.fromEntries(Object.entries(value.retired ?? {}).filter(([b]) => !due.some(([d]) => d === b)));
      const { retired: _, builds, ...rest } = value;
      const kept = Object.fromEntries(Object.entries(builds).filter(([b]) => !due.some(([d]) => d === b)));
      await this.bucket.write(META_KEY, Object.keys(left).length === 0 ? { ...rest, builds: kept } : { ...rest, builds: kept, retired: left }, revision);
      this.log.info({ projection: this.name, builds: due.map(([b]) => Number(b)) }, "retired projection builds purged");
    } catch (err) {
      this.log.debug({ err, projection: this.name }, "purging retired builds raced; another node did it");
    }
  }
}
