import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager, type PubAck, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { existsSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import {
  addStream,
  compareVersions,
  dockerAvailable,
  findNatsServer,
  isSupportedNatsVersion,
  NATS_IMAGE,
  parseNatsVersion,
  resolveNats,
  startNatsCluster,
  startNatsContainer,
  startServer,
  waitFor,
  waitStreamReady,
} from "./kit/index.js";

const docker = await dockerAvailable();
const debianTools = ["/usr/bin/apt-get", "/usr/bin/dpkg", "/usr/share/keyrings/debian-archive-keyring.gpg"].every((p) => existsSync(p));
if (!docker) console.log("kit.test: no Docker engine reachable, so the container test is skipped");

describe("version filter", () => {
  it("parses `nats-server --version` output", () => {
    expect(parseNatsVersion("nats-server: v2.15.1\n")).toBe("2.15.1");
    expect(parseNatsVersion("nats-server: v2.9.10")).toBe("2.9.10");
    expect(parseNatsVersion("garbage")).toBeUndefined();
  });

  it("refuses 2.9.10, 2.10.x and 2.11.x, accepts 2.12.0 and later", () => {
    expect(isSupportedNatsVersion("2.9.10")).toBe(false);
    expect(isSupportedNatsVersion("2.10.29")).toBe(false);
    expect(isSupportedNatsVersion("2.11.16")).toBe(false);
    expect(isSupportedNatsVersion("2.12.0")).toBe(true);
    expect(isSupportedNatsVersion("2.15.1")).toBe(true);
    expect(isSupportedNatsVersion("3.0.0")).toBe(true);
    expect(compareVersions("2.9.10", "2.11.0")).toBeLessThan(0);
    expect(compareVersions("2.11.0", "2.11.0")).toBe(0);
  });
});

describe("launcher", () => {
  it("uses NATS_URL as is when set", async () => {
    const saved = process.env.NATS_URL;
    process.env.NATS_URL = "nats://example.invalid:4222";
    try {
      expect(await resolveNats()).toEqual({ kind: "external", url: "nats://example.invalid:4222" });
    } finally {
      if (saved === undefined) delete process.env.NATS_URL;
      else process.env.NATS_URL = saved;
    }
  });

  it("waitFor polls until true and times out with the message", async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, { interval: 1 });
    expect(n).toBe(3);
    await expect(waitFor(() => false, { timeout: 50, message: "never true" })).rejects.toThrow(/never true/);
  });

  // Runs wherever the kit itself could install (Debian/Ubuntu tools present): ~3 s, Debian's archive only.
  it.runIf(debianTools)(`downloads Debian unstable's nats-server into an empty cache${debianTools ? "" : " (skipped: no apt-get/dpkg here)"}`, async () => {
    const saved = { ...process.env };
    const cache = await mkdtemp(join(tmpdir(), "shoal-cache-"));
    try {
      process.env.SHOAL_CACHE_DIR = cache;
      delete process.env.NATS_SERVER_BIN;
      // Hide any nats-server on PATH so the search has to reach the download step.
      process.env.PATH = (process.env.PATH ?? "")
        .split(":")
        .filter((d) => !existsSync(join(d, "nats-server")))
        .join(":");
      const first = await findNatsServer();
      expect(first?.source).toBe("debian-download");
      expect(isSupportedNatsVersion(first!.version)).toBe(true);
      process.env.PATH = `${process.env.PATH}:`; // a new memo key: search again, now from the cache
      expect((await findNatsServer())?.source).toBe("cache");
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await rm(cache, { recursive: true, force: true });
    }
  });
});

describe("single server", () => {
  it("the globalSetup server serves JetStream", async () => {
    const nc = await connect({ servers: inject("natsUrl") });
    try {
      const jsm = await jetstreamManager(nc);
      const name = `KIT_SHARED_${process.pid}`;
      await jsm.streams.add({ name, subjects: [`kit.shared.${process.pid}`] });
      expect((await jetstream(nc).publish(`kit.shared.${process.pid}`, "x")).stream).toBe(name);
      await jsm.streams.delete(name);
    } finally {
      await nc.close();
    }
  });

  it("accepts a connection and a JetStream publish", async () => {
    await using server = await startServer();
    const nc = await connect({ servers: server.url });
    try {
      await (await jetstreamManager(nc)).streams.add({ name: "ONE", subjects: ["one.>"] });
      const ack = await jetstream(nc).publish("one.a", "hello");
      expect(ack).toMatchObject({ stream: "ONE", seq: 1 });
      // addStream asks again only while the add times out: a refused config fails at once.
      const jsm = await jetstreamManager(nc);
      expect((await addStream(jsm, { name: "ONE", subjects: ["one.>"] })).state.messages).toBe(1);
      await expect(addStream(jsm, { name: "ONE", subjects: ["other.>"] }, 60_000)).rejects.toThrow(/already in use/);
    } finally {
      await nc.close();
    }
  });

  it("keeps a file-stored stream's messages across kill + restart", async () => {
    await using server = await startServer();
    let nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: "KEEP", subjects: ["keep.>"], storage: StorageType.File });
    for (const m of ["a", "b", "c"]) await jetstream(nc).publish("keep.x", m);
    await nc.close();

    await server.kill();
    await server.restart();

    nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => (await jsm.streams.info("KEEP")).state.messages === 3, {
        message: "stream KEEP did not come back with 3 messages",
      });
    } finally {
      await nc.close();
    }
  });
});

describe("cluster", () => {
  it("accepts an R3 stream and still acks publishes after its leader is killed", async () => {
    await using cluster = await startNatsCluster(3);
    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await addStream(jsm, { name: "R3", subjects: ["r3.>"], num_replicas: 3, storage: StorageType.File });
      await waitStreamReady(jsm, "R3", 3);
      expect((await js.publish("r3.a", "1")).seq).toBe(1);

      const leader = (await jsm.streams.info("R3")).cluster?.leader;
      const victim = cluster.servers.find((s) => s.name === leader);
      expect(victim, `stream leader ${leader} is one of ours`).toBeDefined();
      await victim!.kill();

      // msgID makes a retried publish idempotent: a timed-out attempt may still have been stored.
      let ack: PubAck | undefined;
      await waitFor(
        async () => {
          ack = await js.publish("r3.a", "2", { msgID: "second", timeout: 1_000 });
          return true;
        },
        { timeout: 30_000, interval: 100, message: "no publish ack after killing the stream leader" },
      );
      expect(ack?.seq).toBe(2);

      await victim!.restart();
      await waitFor(
        async () => {
          const info = await jsm.streams.info("R3");
          return info.state.messages === 2 && (info.cluster?.replicas ?? []).filter((r) => r.current).length === 2;
        },
        { timeout: 30_000, interval: 100, message: "restarted server did not catch up" },
      );
    } finally {
      await nc.close();
    }
  });
});

describe("docker", () => {
  it.skipIf(!docker)(
    `runs ${NATS_IMAGE} in a container${docker ? "" : " (skipped: no Docker engine reachable)"}`,
    async () => {
      await using server = await startNatsContainer();
      const nc = await connect({ servers: server.url });
      try {
        await (await jetstreamManager(nc)).streams.add({ name: "BOX", subjects: ["box"] });
        expect((await jetstream(nc).publish("box", "x")).seq).toBe(1);
      } finally {
        await nc.close();
      }
      await expect(server.kill()).rejects.toThrow(/not supported for containers/);
    },
    180_000,
  );
});
