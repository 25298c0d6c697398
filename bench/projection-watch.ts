/** Watching a projection from the bench: its checkpoints, its view, its gate. */
import type { NatsConnection } from "@nats-io/transport-node";
import { waitFor } from "../local-nats/index.js";
import { ProjectionBucket } from "../src/projection/bucket.js";
import { type Checkpoint, META_KEY, type ProjectionMeta } from "../src/projection/layout.js";
import type { BalanceRow } from "../src/projections/account-balances.js";

export const PROJECTION = "account-balances";

/** Opens (creating) the bucket of `account-balances` in `cluster`, as a node would. */
export function balancesBucket(nc: NatsConnection, cluster: string): Promise<ProjectionBucket> {
  return ProjectionBucket.open({ nc, cluster, name: PROJECTION, create: { replicas: 1 } });
}

/**
 * Writes build 1's `_meta` before any node runs the projection, with `freezing: 1`: its partitions
 * claim their checkpoints and read their first fetch, then wait (the switch's freeze). Lifting
 * it ({@link openGate}) starts every partition at once on a settled cluster, so the time measured
 * is the projection's, not the nodes' start and the first rebalances.
 */
export async function closeGate(bucket: ProjectionBucket, partitions: number): Promise<void> {
  const meta: ProjectionMeta = { serving: 1, builds: { "1": { partitions, started: Date.now() } }, freezing: 1 };
  await bucket.write(META_KEY, meta, 0);
}

/** Lifts the freeze of {@link closeGate}; resolves to the moment (ms) it was written. */
export async function openGate(bucket: ProjectionBucket): Promise<number> {
  const { value, revision } = await bucket.meta();
  const { freezing: _, ...open } = value!;
  const at = Date.now();
  await bucket.write(META_KEY, open, revision);
  return at;
}

/** Every checkpoint of `build` (undefined where a partition never started). */
export async function checkpoints(bucket: ProjectionBucket, build: number, partitions: number): Promise<(Checkpoint | undefined)[]> {
  return Promise.all(Array.from({ length: partitions }, async (_, k) => (await bucket.checkpoint(build, k)).value));
}

/** Waits until every partition of `build` holds a claim, and the same claims for `quiet` ms (no more moves). */
export async function waitClaimed(bucket: ProjectionBucket, build: number, partitions: number, timeout = 60_000, quiet = 1000): Promise<void> {
  let seen = "";
  let since = Date.now();
  await waitFor(
    async () => {
      const cps = await checkpoints(bucket, build, partitions);
      const claims = cps.map((c) => c?.claim ?? "").join(",");
      if (cps.some((c) => c?.claim === undefined)) return false;
      if (claims !== seen) {
        seen = claims;
        since = Date.now();
      }
      return Date.now() - since >= quiet;
    },
    { timeout, interval: 100, message: `the partitions of ${bucket.name} build ${build} were never all claimed` },
  );
}

/** Waits until every checkpoint of `build` is at `lastSeq` (or past it); resolves to them. */
export async function waitCaughtUp(
  bucket: ProjectionBucket,
  build: number,
  partitions: number,
  lastSeq: number,
  timeout: number,
  interval = 50,
): Promise<Checkpoint[]> {
  let cps: (Checkpoint | undefined)[] = [];
  await waitFor(
    async () => {
      cps = await checkpoints(bucket, build, partitions);
      return cps.every((c) => c !== undefined && c.seq >= lastSeq && c.index === undefined);
    },
    { timeout, interval, message: `${bucket.name} build ${build} never reached #${lastSeq}: ${JSON.stringify(cps.map((c) => c?.seq))}` },
  );
  return cps as Checkpoint[];
}

/** How many of `expected`'s rows the view of `build` does not hold exactly (the bench checking itself). */
export async function viewMismatches(bucket: ProjectionBucket, build: number, expected: ReadonlyMap<string, BalanceRow>): Promise<number> {
  const ids = [...expected.keys()];
  let wrong = 0;
  for (let i = 0; i < ids.length; i += 256) {
    const rows = await Promise.all(ids.slice(i, i + 256).map((id) => bucket.entry<BalanceRow>(build, id)));
    rows.forEach((r, j) => {
      const want = expected.get(ids[i + j]!)!;
      if (r.value?.balance !== want.balance || r.value.version !== want.version) wrong++;
    });
  }
  return wrong;
}
