import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { NatsKvProvider } from "../cluster/kv-nats.js";
import { retryStartup } from "../cluster/startup.js";
import { systemClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import type { KvChange, KvProvider } from "../cluster/kv.js";
import { describeKvConformance, type KvHarness } from "../test/support/kv-conformance.js";
import { type RunningCluster, startNatsCluster, startNatsServer, waitFor, waitStreamReady } from "./kit/index.js";
import { suiteConnection } from "./suite-connection.js";

let runs = 0;
/** A bucket-name prefix of its own per harness, so runs and tests never share a bucket. */
const uniquePrefix = (): string => `kvt${process.pid}_${Date.now().toString(36)}_${++runs}`;
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `provider` with every bucket name prefixed, remembering which it opened (for cleanup). */
function prefixed(provider: KvProvider, prefix: string, used: Set<string>): KvProvider {
  return {
    bucket: (name, opts) => {
      used.add(`${prefix}_${name}`);
      return provider.bucket(`${prefix}_${name}`, opts);
    },
  };
}

describe("NatsKvProvider on one server", () => {
  let nc!: NatsConnection;
  let jsm!: JetStreamManager;
  suiteConnection((c) => ({ nc, jsm } = c));

  describeKvConformance("NatsKvProvider", async (): Promise<KvHarness> => {
    const prefix = uniquePrefix();
    const used = new Set<string>();
    const extra: NatsConnection[] = [];
    return {
      provider: prefixed(new NatsKvProvider(nc), prefix, used),
      peer: async () => {
        const other = await connect({ servers: inject("natsUrl") });
        extra.push(other);
        return prefixed(new NatsKvProvider(other), prefix, used);
      },
      cleanup: async () => {
        await Promise.all(extra.map((c) => c.close()));
        for (const name of used) await jsm.streams.delete(`KV_${name}`).catch(() => undefined);
      },
    };
  });

  it("maps a closed connection to UNAVAILABLE", async () => {
    const own = await connect({ servers: inject("natsUrl") });
    const name = `${uniquePrefix()}_closed`;
    const kv = await new NatsKvProvider(own).bucket(name, { ttl: 0 });
    await kv.put("k", b("v"));
    await own.close();
    await expect(kv.get("k")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(kv.put("k", b("w"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await jsm.streams.delete(`KV_${name}`).catch(() => undefined);
  });

  it("asks a write again after a 503 (nothing stored), and gives up with UNAVAILABLE while the stream is gone", async () => {
    const name = `${uniquePrefix()}_503`;
    const stream = `KV_${name}`;
    const kv = await new NatsKvProvider(nc).bucket(name, { ttl: 0 });
    const config = (await jsm.streams.info(stream)).config;
    await jsm.streams.delete(stream);
    // With the stream gone, nothing answers but this: the first attempt is answered 503 after
    // the stream is back, so only a second attempt can store the value.
    const fake = await connect({ servers: inject("natsUrl") });
    let seen = 0;
    const sub = fake.subscribe(`$KV.${name}.k`, {
      callback: (_err, m) => {
        seen++;
        sub.unsubscribe();
        void jsm.streams.add(config).then(() => {
          m.respond(
            JSON.stringify({
              type: "io.nats.jetstream.api.v1.pub_ack_response",
              error: { code: 503, err_code: 10163, description: "expected last sequence per subject temporarily unavailable" },
            }),
          );
        });
      },
    });
    await fake.flush();
    try {
      const rev = await kv.create("k", b("v"));
      expect(seen).toBe(1);
      expect(await kv.get("k")).toMatchObject({ revision: rev, value: b("v") });

      await jsm.streams.delete(stream);
      await expect(kv.put("k", b("w"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    } finally {
      await fake.close();
      await jsm.streams.delete(stream).catch(() => undefined);
    }
  });
});

describe("NatsKvProvider watch across a server restart", () => {
  it("keeps delivering after the connection comes back", async () => {
    await using server = await startNatsServer();
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const kv = await new NatsKvProvider(nc).bucket("restart", { ttl: 0 });
      const seen: KvChange[] = [];
      await kv.watch((c) => seen.push(c));
      await kv.put("k", b("before"));
      await waitFor(() => seen.length === 1);
      await server.kill();
      await server.restart();
      // Writes fail or wait until the client has reconnected and JetStream is back.
      await waitFor(async () => (await kv.put("k", b("after"))) > 0, { timeout: 20_000 });
      // The watch's consumer is recovered with the stream, so the write shows at once.
      await waitFor(() => seen.some((c) => c.kind === "put" && new TextDecoder().decode(c.entry.value) === "after"), {
        timeout: 5_000,
        message: "the watch saw no write after the restart",
      });
    } finally {
      await nc.close();
    }
  }, 120_000);
});

describe("NatsKvProvider on a 3-server cluster, replicas 3", () => {
  let cluster: RunningCluster;
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    for (let i = 0; i < 8; i++) conns.push(await connect({ servers: cluster.urls[i % 3]!, noRandomize: true }));
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await cluster?.stop();
  });

  it("create and update CAS: exactly one of 8 writers on different servers wins", async () => {
    const kvs = [];
    // A fresh R3 bucket's creation can time out while its stream elects: retried as a joining node does.
    for (const c of conns)
      kvs.push(await retryStartup("bucket", () => new NatsKvProvider(c, { replicas: 3 }).bucket("cas", { ttl: 0 }), { clock: systemClock, log: silentLogger }));
    const jsm = await jetstreamManager(conns[0]!);
    expect((await jsm.streams.info("KV_cas")).config.num_replicas).toBe(3);
    // CAS between writers is what is tested, not a fresh R3 stream settling (a 503 until then).
    await waitStreamReady(jsm, "KV_cas", 3);
    for (let round = 0; round < 10; round++) {
      const key = `leader-${round}`;
      const created = await Promise.allSettled(kvs.map((kv, i) => kv.create(key, b(`node-${i}`))));
      const winners = created.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, rev: r.value }] : []));
      expect(winners).toHaveLength(1);
      for (const r of created) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "CONFLICT" });
      const updated = await Promise.allSettled(kvs.map((kv, i) => kv.update(key, b(`renew-${i}`), winners[0]!.rev)));
      const renewed = updated.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(renewed).toHaveLength(1);
      for (const r of updated) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "CONFLICT" });
      for (const kv of kvs) expect(await kv.get(key)).toMatchObject({ revision: renewed[0] });
    }
  });
});
