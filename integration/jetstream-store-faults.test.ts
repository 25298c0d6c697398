import { type DirectBatchOptions, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { msgpack } from "../src/codec/msgpack.js";
import { type JournalWriter, prepareAppend, publishAppend } from "../src/store/jetstream-append.js";
import { expand, type JournalReader, readRange } from "../src/store/jetstream-journal.js";
import * as names from "../src/nats-names.js";
import type { JetStreamEventStore } from "../src/store/jetstream.js";
import { VersionCache } from "../src/store/version-cache.js";
import { rejectsWith } from "../test/support/outcomes.js";
import { type RunningCluster, startNatsCluster } from "./kit/index.js";
import { openStore } from "./open-store.js";
import { suiteConnection } from "./suite-connection.js";

/** Faults the JetStream event store must ride out: replicas behind the leader, lost acks. */

let clusters = 0;
const uniqueCluster = (): string => `f${process.pid}-${Date.now().toString(36)}-${++clusters}`;

async function withStore(nc: NatsConnection, body: (store: JetStreamEventStore, cluster: string) => Promise<void>, replicas = 1): Promise<void> {
  const cluster = uniqueCluster();
  const store = await openStore({ nc, cluster, replicas });
  try {
    await body(store, cluster);
  } finally {
    await store.close();
    const jsm = await jetstreamManager(nc);
    for (const name of [names.streamName(cluster), `KV_${names.clusterBuckets(cluster).snapshots}`]) {
      await jsm.streams.delete(name).catch(() => undefined);
    }
  }
}

/** A writer publishing through `js` (nats.js's own JetStream publish, or one that loses acks); everything else real. */
async function writer(nc: NatsConnection, cluster: string, js: JetStreamClient): Promise<JournalWriter> {
  return {
    jsm: await jetstreamManager(nc),
    publisher: js,
    stream: names.streamName(cluster),
    codec: msgpack,
    cache: new VersionCache(),
    maxPayload: 1024 * 1024,
    publishTimeout: 1000,
    publishAttempts: 3,
    pageSize: 256,
  };
}

/** Publishes for real, but the first `lose` acks never arrive (a timeout, as after a lost reply). */
function losingAcks(nc: NatsConnection, lose: number, land = true): JetStreamClient {
  const real = jetstream(nc);
  let calls = 0;
  return {
    publish: async (...args: Parameters<JetStreamClient["publish"]>) => {
      if (calls++ >= lose) return real.publish(...args);
      if (land) await real.publish(...args);
      throw new errors.TimeoutError();
    },
  } as unknown as JetStreamClient;
}

function lostAckTests(getNc: () => NatsConnection, replicas: number): void {
  it("turns a lost ack into success, stored once", async () => {
    await withStore(
      getNc(),
      async (store, cluster) => {
        const key = { type: "account", id: "lost-ack" };
        await store.append(key, ["a"], 0);
        const w = await writer(getNc(), cluster, losingAcks(getNc(), 2));
        const p = await prepareAppend(w, {
          actorType: "account",
          subject: names.journalSubject(cluster, key),
          payload: msgpack.encode(["b", "c"]),
          count: 2,
          expectedVersion: 1,
          writer: "lost-ack:1",
        });
        expect(await publishAppend(w, p)).toBe(3);
        expect((await store.read(key)).map((e) => e.event)).toEqual(["a", "b", "c"]);
      },
      replicas,
    );
  });

  it("reports TIMEOUT when no attempt is confirmed and none landed", async () => {
    await withStore(
      getNc(),
      async (store, cluster) => {
        const key = { type: "account", id: "no-ack" };
        const w = await writer(getNc(), cluster, losingAcks(getNc(), Infinity, false));
        const p = await prepareAppend(w, {
          actorType: "account",
          subject: names.journalSubject(cluster, key),
          payload: msgpack.encode(["a"]),
          count: 1,
          expectedVersion: 0,
          writer: "no-ack:1",
        });
        await rejectsWith(publishAppend(w, p), "TIMEOUT");
        expect(await store.version(key)).toBe(0);
        expect(await store.append(key, ["a"], 0)).toBe(1);
      },
      replicas,
    );
  });
}

describe("JetStream event store faults, one server", () => {
  let nc!: NatsConnection;
  let jsm!: JetStreamManager;
  suiteConnection((c) => ({ nc, jsm } = c));

  lostAckTests(() => nc, 1);

  /** A reader whose direct gets see only messages up to `seen()` (a replica behind the leader). */
  function lagging(cluster: string, seen: () => number): JournalReader {
    const direct = {
      getBatch: async (stream: string, opts: DirectBatchOptions) => {
        const it = await jsm.direct.getBatch(stream, opts);
        return (async function* () {
          for await (const m of it) if (m.seq <= seen()) yield m;
        })();
      },
    };
    return { jsm: { streams: jsm.streams, direct } as unknown as JetStreamManager, stream: names.streamName(cluster), codec: msgpack, pageSize: 2 };
  }

  it.each([
    ["a lagging replica that catches up is retried", (calls: number) => (calls > 1 ? Infinity : 3)],
    ["a replica that never catches up: the leader is asked", () => 3],
  ])("%s", async (_, visible) => {
    await withStore(nc, async (store, cluster) => {
      const key = { type: "account", id: "lag" };
      for (let v = 0; v < 6; v++) await store.append(key, [v], v);
      const subject = names.journalSubject(cluster, key);
      let calls = 0;
      const r = lagging(cluster, () => visible(calls++));
      const msgs = await readRange(r, subject, 1, 6);
      expect(msgs.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(expand(r, msgs, subject, 0, 0).map((e) => e.event)).toEqual([0, 1, 2, 3, 4, 5]);
      await expect(readRange(r, subject, 1, 9)).rejects.toThrow(/ends before sequence 9/);
    });
  });
});

describe("JetStream event store faults, 3-server cluster, R3", () => {
  let cluster: RunningCluster;
  let nc: NatsConnection;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connect({ servers: cluster.urls[1]!, noRandomize: true });
  });
  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  // Here a retried publish meets the msg-id check first: the duplicate path, not the sequence one.
  lostAckTests(() => nc, 3);
});
