import { BadRequestError, ConflictError } from "../errors.js";
import type { ProjectionBucket } from "./bucket.js";
import { checkpointKey, META_KEY, type ProjectionMeta } from "./layout.js";
import { MAX_PARTITIONS } from "./define.js";

/**
 * What operators do to a projection, as writes to its `_meta` and checkpoints (the nodes follow
 * them): start a rebuild, resume stopped partitions, replay. Each is one compare-and-set, tried
 * again on a race.
 */

async function changeMeta(bucket: ProjectionBucket, change: (m: ProjectionMeta) => ProjectionMeta): Promise<ProjectionMeta> {
  for (let n = 0; n < 20; n++) {
    const { value, revision } = await bucket.meta();
    if (value === undefined) throw new BadRequestError(`projection bucket ${bucket.name} has no _meta: no node has run it`);
    const next = change(value);
    try {
      await bucket.write(META_KEY, next, revision);
      return next;
    } catch {
      // A node or another operator changed it meanwhile: read it again.
    }
  }
  throw new ConflictError(`_meta of ${bucket.name} kept changing`);
}

/**
 * Begins a new build beside the serving one, from the start of the journal, with `partitions`
 * (default: the serving build's). BAD_REQUEST when one is already being built.
 */
export function startRebuild(bucket: ProjectionBucket, now: number, partitions?: number): Promise<ProjectionMeta> {
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS)) {
    throw new BadRequestError(`partitions must be an integer from 1 to ${MAX_PARTITIONS}`);
  }
  return changeMeta(bucket, (m) => {
    if (m.building !== undefined) throw new BadRequestError(`build ${m.building} is being made already`);
    const build = Math.max(...Object.keys(m.builds).map(Number), ...Object.keys(m.retired ?? {}).map(Number)) + 1;
    const count = partitions ?? m.builds[String(m.serving)]?.partitions ?? 1;
    return { ...m, building: build, builds: { ...m.builds, [String(build)]: { partitions: count, started: now } } };
  });
}

/** Starts again every partition stopped by its failure policy (they retry the event they stopped on). */
export function resume(bucket: ProjectionBucket): Promise<ProjectionMeta> {
  return changeMeta(bucket, (m) => ({ ...m, resumes: (m.resumes ?? 0) + 1 }));
}

/**
 * Sets every checkpoint of the serving build back to `seq` (default 0, the start), keeping the
 * view: events after it are handled again (at least once, so the handler must tolerate repeats).
 * The partitions' holders are fenced by the write and claim again from there.
 */
export async function replayFromCheckpoint(bucket: ProjectionBucket, now: number, seq = 0): Promise<number> {
  const { value: meta } = await bucket.meta();
  if (meta === undefined) throw new BadRequestError(`projection bucket ${bucket.name} has no _meta: no node has run it`);
  const n = meta.builds[String(meta.serving)]?.partitions ?? 0;
  for (let k = 0; k < n; k++) {
    for (let tries = 0; ; tries++) {
      const { value, revision } = await bucket.checkpoint(meta.serving, k);
      const {
        index: _,
        stopped: __,
        claim: ___,
        ...rest
      } = value ?? { seq: 0, at: 0, applied: 0, deadLettered: 0, skipped: 0, pending: 0, behindMs: 0, rate: 0 };
      try {
        await bucket.write(checkpointKey(meta.serving, k), { ...rest, seq: Math.min(seq, rest.seq), at: now }, revision);
        break;
      } catch (err) {
        if (tries >= 20) throw err;
      }
    }
  }
  // The holders of idle partitions would not notice until their next commit: tell them.
  await changeMeta(bucket, (m) => ({ ...m, replays: (m.replays ?? 0) + 1 }));
  return meta.serving;
}
