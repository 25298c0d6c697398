/**
 * The blue-green switch's rules, step by step against a real bucket (cluster/projections/switch.ts):
 * no freeze while the new build lags; no switch while any new checkpoint is behind the old
 * build's furthest; then one atomic switch that retires every old checkpoint; and a switch
 * whose read of an old checkpoint went stale fails whole.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BuildSwitch, SWITCH_LAG_BOUND } from "../cluster/projections/switch.js";
import { systemClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import { ProjectionBucket } from "../src/projection/bucket.js";
import { type Checkpoint, checkpointKey, FIRST_CHECKPOINT, META_KEY, type ProjectionMeta } from "../src/projection/layout.js";
import { uniqueCluster } from "./cluster-helpers.js";

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: inject("natsUrl") });
});
afterAll(() => nc.close());

const cp = (seq: number, pending = 0): Checkpoint => ({ ...FIRST_CHECKPOINT, seq, pending, owner: "n", claim: "c" });

async function setup() {
  const bucket = await ProjectionBucket.open({ nc, cluster: uniqueCluster("sw"), name: "p", create: { replicas: 1 } });
  const meta: ProjectionMeta = { serving: 1, building: 2, builds: { "1": { partitions: 2, started: 0 }, "2": { partitions: 2, started: 0 } } };
  await bucket.write(META_KEY, meta, 0);
  const revs = new Map<string, number>();
  const put = async (build: number, k: number, c: Checkpoint) => {
    const key = checkpointKey(build, k);
    revs.set(key, await bucket.write(key, c, revs.get(key) ?? 0));
  };
  const events: string[] = [];
  // A fresh switch per step: each considers at most once a second.
  const step = () => new BuildSwitch(bucket, systemClock, silentLogger, (e) => events.push(e.phase), "p").consider(meta);
  return { bucket, put, step, events, meta: async () => (await bucket.meta()).value! };
}

describe("BuildSwitch", () => {
  it("freezes only a caught-up build, switches only once it is past the old build, and retires the old checkpoints", async () => {
    const s = await setup();
    await s.put(1, 0, cp(100));
    await s.put(1, 1, cp(120));
    await s.put(2, 0, cp(10, SWITCH_LAG_BOUND + 1));
    await s.put(2, 1, cp(20, 5));
    await s.step();
    expect((await s.meta()).freezing).toBeUndefined(); // partition 0 still lags
    await s.put(2, 0, cp(90, 3));
    await s.step();
    expect((await s.meta()).freezing).toBe(1);
    await s.step();
    expect((await s.meta()).serving).toBe(1); // 90 and 20 are behind the old build's 120
    await s.put(2, 0, cp(125));
    await s.put(2, 1, cp(119));
    await s.step();
    expect((await s.meta()).serving).toBe(1); // 119 < 120
    await s.put(2, 1, cp(120));
    await s.step();
    const after = await s.meta();
    expect(after).toMatchObject({ serving: 2, retired: { "1": expect.any(Number) } });
    expect(after.building).toBeUndefined();
    expect(after.freezing).toBeUndefined();
    for (const k of [0, 1]) expect((await s.bucket.checkpoint(1, k)).value?.retired).toBe(true);
    expect(s.events).toEqual(["switched"]);
  });

  it("does not switch when an old checkpoint moved after it was read (the batch fails whole)", async () => {
    const s = await setup();
    await s.put(1, 0, cp(100));
    await s.put(1, 1, cp(100));
    await s.put(2, 0, cp(100));
    await s.put(2, 1, cp(100));
    await s.step(); // freeze
    expect((await s.meta()).freezing).toBe(1);
    // An old partition commits between the switch's read and its batch: simulated by a bucket
    // whose checkpoint read returns the revision before that commit.
    const stale = await s.bucket.checkpoint(1, 1);
    await s.put(1, 1, cp(100));
    const real = s.bucket.checkpoint.bind(s.bucket);
    s.bucket.checkpoint = async (b, k) => (b === 1 && k === 1 ? stale : real(b, k));
    await s.step();
    expect((await s.meta()).serving).toBe(1);
    expect((await real(1, 0)).value?.retired).toBeUndefined();
    s.bucket.checkpoint = real;
    await s.step();
    expect((await s.meta()).serving).toBe(2);
  });
});
