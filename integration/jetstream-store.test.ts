import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { msgpack } from "../src/codec/msgpack.js";
import type { EventStore } from "../src/store/types.js";
import { JetStreamEventStore, type JetStreamEventStoreOptions } from "../src/store/jetstream.js";
import * as names from "../src/nats-names.js";
import * as layout from "../src/store/jetstream-layout.js";
import { rejectsWith } from "../test/support/outcomes.js";
import { describeEventStoreConformance, type StoreHarness } from "../test/support/store-conformance.js";
import { type RunningCluster, startNatsCluster } from "./kit/index.js";
import { openStore } from "./open-store.js";
import { suiteConnection } from "./suite-connection.js";

let clusters = 0;
/** A cluster name of its own per store, so tests never see each other's journals. */
const uniqueCluster = (): string => `t${process.pid}-${Date.now().toString(36)}-${++clusters}`;

async function dropCluster(jsm: JetStreamManager, cluster: string): Promise<void> {
  for (const name of [names.streamName(cluster), `KV_${names.clusterBuckets(cluster).snapshots}`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
}

/** A store on a cluster name of its own; `reopen` is a restarted process on `reopenUrl`. */
async function harness(nc: NatsConnection, jsm: JetStreamManager, reopenUrl: string, replicas: number): Promise<StoreHarness> {
  const cluster = uniqueCluster();
  const store = await openStore({ nc, cluster, replicas });
  const extra: NatsConnection[] = [];
  return {
    store,
    // Its own connection, an existing stream, a cold cache.
    reopen: async () => {
      const other = await connect({ servers: reopenUrl, noRandomize: true });
      extra.push(other);
      return JetStreamEventStore.open({ nc: other, cluster, create: false });
    },
    cleanup: async () => {
      await store.close();
      await Promise.all(extra.map((c) => c.close()));
      await dropCluster(jsm, cluster);
    },
  };
}

describe("JetStreamEventStore on one server", () => {
  let nc!: NatsConnection;
  let jsm!: JetStreamManager;
  suiteConnection((c) => ({ nc, jsm } = c));

  describeEventStoreConformance("JetStreamEventStore", () => harness(nc, jsm, inject("natsUrl"), 1));

  /** A store on a fresh cluster name, dropped after the test body. */
  async function withStore(
    body: (store: JetStreamEventStore, cluster: string) => Promise<void>,
    opts: Partial<JetStreamEventStoreOptions> = {},
  ): Promise<void> {
    const cluster = uniqueCluster();
    const store = await JetStreamEventStore.open({ nc, cluster, ...opts });
    try {
      await body(store, cluster);
    } finally {
      await store.close();
      await dropCluster(jsm, cluster);
    }
  }

  it("creates the stream and bucket as specified, one message per batch", async () => {
    await withStore(async (store, cluster) => {
      const info = await jsm.streams.info(names.streamName(cluster));
      expect(info.config).toMatchObject({
        subjects: [`shoal.${cluster}.journal.>`],
        storage: "file",
        allow_direct: true,
        num_replicas: 1,
        duplicate_window: 120_000_000_000,
      });
      const kv = await jsm.streams.info(`KV_${names.clusterBuckets(cluster).snapshots}`);
      expect(kv.config.max_msgs_per_subject).toBe(1);

      const key = { type: "account", id: "a.b >*" };
      await store.append(key, ["x", "y"], 0);
      await store.append(key, ["z"], 2);
      const subject = `shoal.${cluster}.journal.account.${Buffer.from("a.b >*").toString("base64url")}`;
      expect(names.journalSubject(cluster, key)).toBe(subject);
      const last = await jsm.streams.getMessage(names.streamName(cluster), { last_by_subj: subject });
      expect(last?.seq).toBe(2);
      expect(last?.header.get("Shoal-Version")).toBe("3");
      expect(last?.header.get("Shoal-Count")).toBe("1");
      expect(last?.header.get("Shoal-Writer")).toMatch(/\S+/);
      expect(last?.header.get("Nats-Msg-Id")).toBe(`${subject}@2`);
      expect(msgpack.decode(last!.data)).toEqual(["z"]);
    });
  });

  it("refuses to create with create: false, and refuses streams that could lose events", async () => {
    const cluster = uniqueCluster();
    const missing = await rejectsWith(JetStreamEventStore.open({ nc, cluster, create: false }), "UNAVAILABLE");
    expect(missing.message).toContain(names.streamName(cluster));
    expect((await jsm.streams.names().next()).includes(names.streamName(cluster))).toBe(false);

    await jsm.streams.add({ ...layout.journalStreamConfig(cluster, 1), max_msgs_per_subject: 10 });
    try {
      const bad = await rejectsWith(JetStreamEventStore.open({ nc, cluster }), "INTERNAL");
      expect(bad.message).toContain("max_msgs_per_subject");
      const replicas = await rejectsWith(JetStreamEventStore.open({ nc, cluster, replicas: 3 }), "INTERNAL");
      expect(replicas.message).toContain("3 were asked for");
    } finally {
      await dropCluster(jsm, cluster);
    }
  });

  it("never takes a duplicate msg id written by another writer for its own write", async () => {
    await withStore(async (store, cluster) => {
      const key = { type: "account", id: "fenced" };
      await store.append(key, ["a"], 0); // the cache now pins {version 1, seq 1}
      const subject = names.journalSubject(cluster, key);
      // Another subject of the stream, so the expected-sequence check passes and only the msg id can stop it.
      const h = headers();
      h.set("Shoal-Version", "1");
      h.set("Shoal-Count", "1");
      h.set("Shoal-Writer", "intruder");
      const elsewhere = names.journalSubject(cluster, { type: "account", id: "elsewhere" });
      await jetstream(nc).publish(elsewhere, msgpack.encode(["i"]), { headers: h, msgID: layout.batchMsgId(subject, 1) });

      const err = await rejectsWith(store.append(key, ["b"], 1), "CONFLICT");
      expect(err.details).toMatchObject({ expected: 1 });
      expect(await store.read(key)).toEqual([{ version: 1, event: "a" }]);
    });
  });

  it("takes its own retried publish for success, once", async () => {
    await withStore(async (store) => {
      const key = { type: "account", id: "retry" };
      await store.append(key, ["a"], 0);
      const p = await store.prepareAppend(key, ["b", "c"], 1);
      expect(await store.publishPrepared(p)).toBe(3);
      expect(await store.publishPrepared(p)).toBe(3);
      expect(await store.version(key)).toBe(3);
      expect((await store.read(key)).map((e) => e.event)).toEqual(["a", "b", "c"]);
      // The same version prepared by another append is someone else's write.
      const rival = await store.prepareAppend(key, ["x"], 3);
      await store.append(key, ["d"], 3);
      await rejectsWith(store.publishPrepared(rival), "CONFLICT");
    });
  });

  it.each([
    ["no headers", (h: ReturnType<typeof headers>) => void h, msgpack.encode(["x"]), /Shoal-Version/],
    ["a count that does not match", (h: ReturnType<typeof headers>) => setBatch(h, "3", "2"), msgpack.encode(["x"]), /array of 2 events/],
    ["a payload that is not MessagePack", (h: ReturnType<typeof headers>) => setBatch(h, "2", "1"), new Uint8Array([0xc1]), /does not decode/],
    ["a gap in versions", (h: ReturnType<typeof headers>) => setBatch(h, "5", "1"), msgpack.encode(["x"]), /follow version 1/],
  ])("fails reads clearly on a malformed message: %s", async (_, setHeaders, payload, reason) => {
    await withStore(async (store, cluster) => {
      const key = { type: "account", id: "corrupt" };
      await store.append(key, ["a"], 0);
      const h = headers();
      setHeaders(h);
      await jetstream(nc).publish(names.journalSubject(cluster, key), payload, { headers: h });
      // One at a time: made together, the second could reject before anything awaits it (an unhandled rejection).
      for (const call of [() => store.read(key), () => store.load(key)]) {
        const err = await rejectsWith(call(), "INTERNAL");
        expect(err.message).toMatch(/malformed journal message/);
        expect(err.message).toMatch(reason);
      }
    });
  });

  it("reads long journals page by page and starts load() after the snapshot's batch", async () => {
    await withStore(
      async (store, cluster) => {
        const key = { type: "account", id: "long" };
        let v = 0;
        for (let i = 0; i < 9; i++) v = await store.append(key, [i, -i], v);
        expect((await store.read(key)).map((e) => e.version)).toEqual([...Array(18).keys()].map((i) => i + 1));
        await store.saveSnapshot(key, { version: 18, state: "s18" });
        const kv = await jsm.streams.getMessage(`KV_${names.clusterBuckets(cluster).snapshots}`, {
          last_by_subj: `$KV.${names.clusterBuckets(cluster).snapshots}.${names.snapshotKey(key)}`,
        });
        expect(msgpack.decode(kv!.data)).toEqual({ version: 18, state: "s18", seq: 9 });
        v = await store.append(key, [100], v);
        expect(await store.load(key)).toEqual({ snapshot: { version: 18, state: "s18" }, events: [{ version: 19, event: 100 }], version: 19 });
      },
      { pageSize: 2 },
    );
  });
});

function setBatch(h: ReturnType<typeof headers>, version: string, count: string): void {
  h.set("Shoal-Version", version);
  h.set("Shoal-Count", count);
  h.set("Shoal-Writer", "raw");
}

describe("JetStreamEventStore on a 3-server cluster, R3", () => {
  let cluster: RunningCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connect({ servers: cluster.urls[0]!, noRandomize: true });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await Promise.all([nc, ...conns].map((c) => c?.close()));
    await cluster?.stop();
  });

  // Reads are direct gets served by any replica, some behind the leader that acked the append.
  describeEventStoreConformance("JetStreamEventStore R3", () => harness(nc, jsm, cluster.urls[2]!, 3), { rounds: 10, numRuns: 15 });

  it("lets exactly one of 8 writers on 3 servers win each version, even past the pre-check", async () => {
    const name = uniqueCluster();
    const stores: EventStore[] = [];
    const writers: JetStreamEventStore[] = [];
    for (let i = 0; i < 8; i++) {
      const nc = await connect({ servers: cluster.urls[i % 3]!, noRandomize: true });
      conns.push(nc);
      const s = await openStore({ nc, cluster: name, replicas: 3 });
      writers.push(s);
      stores.push(s);
    }
    const key = { type: "account", id: "contended" };
    const winners: unknown[] = [];
    for (let round = 0; round < 40; round++) {
      // Every writer passes the pre-check with the same expected sequence: only the server can fence.
      const prepared = await Promise.all(writers.map((w, i) => w.prepareAppend(key, [{ round, i }], round)));
      const results = await Promise.allSettled(prepared.map((p, i) => writers[i]!.publishPrepared(p)));
      const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      expect(won, `round ${round}`).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "CONFLICT" });
      winners.push({ round, i: won[0] });
    }
    for (const s of stores) expect((await s.read(key)).map((e) => e.event)).toEqual(winners);
    await Promise.all(stores.map((s) => s.close()));
  });
});
