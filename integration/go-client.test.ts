/**
 * The Go example of the ingress (examples/go-client/, README "Routing straight to the owner"),
 * built with Debian's Go and nats.go and run as a process: its own `go test` (the shard hash's
 * known answers, node subjects, routing by a map); against 3 in-process nodes (two with ids
 * whose tokens base64 would pad) every deposit and balance must be answered by the owner the
 * nodes' map names, through that owner's node subject, with no node forwarding a call; against
 * hand-written maps, a call must fall back to the shared subject on no responders and on a
 * shard without owner, and never be resent after a timeout.
 *
 * Needs `go` and nats.go's sources in GOPATH mode (offline): on Debian `apt-get install -y
 * golang-go golang-github-nats-io-go-nats-dev` (or run `.ci/install-go.sh` as root); another
 * GOPATH holding github.com/nats-io/nats.go works too. Without them the suite is skipped and its
 * name says why. Run:
 *
 *   npx vitest run --project integration integration/go-client.test.ts
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { ShoalNode } from "../cluster/node.js";
import { account } from "../src/actors/account.js";
import { clusterBuckets, clusterSubjects, nodeAskSubject } from "../src/nats-names.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { startTestCluster, type ShoalTestCluster } from "../testing/index.js";

const run = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL("../examples/go-client/", import.meta.url));
const INSTALL_GO = "apt-get install -y golang-go golang-github-nats-io-go-nats-dev, or run .ci/install-go.sh as root";

/** A GOPATH holding nats.go's sources (env GOPATH's entries, then Debian's), or why there is none. */
function findGoPath(): { gopath: string } | { missing: string } {
  const go = spawnSync("go", ["version"], { stdio: "ignore", timeout: 15_000 });
  if (go.status !== 0) return { missing: `no go on PATH (${INSTALL_GO})` };
  const candidates = [...(process.env.GOPATH ?? "").split(delimiter).filter(Boolean), "/usr/share/gocode"];
  if (!candidates.some((p) => existsSync(join(p, "src/github.com/nats-io/nats.go/kv.go")))) {
    return { missing: `no nats.go sources in ${candidates.join(delimiter)}/src/github.com/nats-io/nats.go (${INSTALL_GO})` };
  }
  return { gopath: candidates.filter((p) => existsSync(p)).join(delimiter) };
}

const found = findGoPath();
const gopath = "gopath" in found ? found.gopath : undefined;
const suite = "gopath" in found ? describe : describe.skip;
const title = "gopath" in found ? "Go ingress client (examples/go-client)" : `Go ingress client — skipped: ${found.missing}`;

/** One line of `go-client -json`. */
interface CallLine {
  op: "deposit" | "balance";
  id: string;
  owner: string;
  shard: number;
  subject: string;
  reply?: { balance: number; version: number; node: string; applied?: boolean };
  error?: string;
}

// The hash's known-answer ids (NATS's special characters, non-ASCII), then plain ones.
const ACCOUNTS = ["alice", "bob", "a.b*c>d e", "ü", "🐟 shoal", ...Array.from({ length: 25 }, (_, i) => `go-${i}`)];

suite(title, () => {
  // Offline: Debian's nats.go in GOPATH mode, never the module proxy.
  const goEnv = { ...process.env, GO111MODULE: "off", GOPATH: gopath!, GOFLAGS: "", GOPROXY: "off" };
  let dir: string;
  let binary: string;
  let tc: ShoalTestCluster;
  let nc: NatsConnection;
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "shoal-go-client-"));
    binary = join(dir, "go-client");
    const started = performance.now();
    await run("go", ["build", "-o", binary, "."], { cwd: EXAMPLE, env: goEnv, timeout: 300_000 });
    console.log(`go build of examples/go-client: ${Math.round(performance.now() - started)} ms`);
    tc = await startTestCluster({ actors: [account], nodes: 1, natsUrl: inject("natsUrl") });
    // Node ids whose tokens would be padded, and hold "-", in plain base64: the Go client must
    // name their subjects exactly as the nodes do.
    await tc.addNode("nœud-2", { settle: false });
    await tc.addNode("nœud.3 ~ü");
    nc = await connect({ servers: tc.url });
  });

  afterAll(async () => {
    await nc?.close();
    await tc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Runs the example with `args`; one line per call (it exits 1 when a call failed, 2 when it could not start). */
  async function goClient(cluster: string, args: readonly string[]): Promise<CallLine[]> {
    const stdout = await run(binary, ["-nats", tc.url, "-cluster", cluster, "-json", ...args], { timeout: 60_000 }).then(
      (r) => r.stdout,
      (err: { code?: number; stdout?: string }) => {
        if (err.code !== 1 || !err.stdout) throw err;
        return err.stdout;
      },
    );
    return stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as CallLine);
  }

  const forwarded = (nodes: readonly ShoalNode[]) => nodes.reduce((n, node) => n + node.status().forwarded, 0);

  it("passes its own tests: the shard hash's known answers", async () => {
    const { stdout } = await run("go", ["test", "."], { cwd: EXAMPLE, env: goEnv, timeout: 300_000 });
    expect(stdout).toMatch(/^ok\s/m);
  });

  it("sends every call to the owner the nodes' map names, so no node forwards one", async () => {
    await tc.settled();
    const map = tc.nodes[0]!.map!;
    expect(tc.nodes.every((n) => n.map?.version === map.version)).toBe(true);
    const owner = (id: string) => map.owners[shardOf("account", id, map.shardCount)]!;

    const before = forwarded(tc.nodes);
    const calls = await goClient(tc.cluster, ["-txn", "t-1", "-amount", "7", ...ACCOUNTS]);
    expect(forwarded(tc.nodes) - before).toBe(0);

    expect(calls.map((c) => `${c.op} ${c.id}`)).toEqual(ACCOUNTS.flatMap((id) => [`deposit ${id}`, `balance ${id}`]));
    for (const call of calls) {
      expect(call.error).toBeUndefined();
      expect(call.shard).toBe(shardOf("account", call.id, map.shardCount));
      expect(call.owner).toBe(owner(call.id));
      expect(call.subject).toBe(nodeAskSubject(tc.cluster, owner(call.id)));
      expect(call.reply).toEqual({ balance: 7, version: 1, node: owner(call.id), ...(call.op === "deposit" ? { applied: true } : {}) });
    }
    // The ids spread over the whole cluster.
    expect(new Set(calls.map((c) => c.owner)).size).toBe(3);

    // The same txn again is applied once: same balances, nothing written.
    const again = await goClient(tc.cluster, ["-txn", "t-1", "-amount", "7", ...ACCOUNTS]);
    expect(again.filter((c) => c.op === "deposit").map((c) => c.reply)).toEqual(
      ACCOUNTS.map((id) => ({ balance: 7, version: 1, node: owner(id), applied: false })),
    );
  });

  /**
   * A fake cluster for the Go client alone: a map written by hand, over `shardCount` shards
   * owned as `owner(shard)` says (an index into `nodes`, or -1), and a shared subject that
   * answers every request with what it received. No node serves anything.
   */
  async function fakeCluster(name: string, nodes: string[], owner: (shard: number) => number) {
    const cluster = `${tc.cluster}-${name}`;
    const shardCount = 16;
    const kv = await new Kvm(nc).create(clusterBuckets(cluster).map);
    const owners = Array.from({ length: shardCount }, (_, s) => owner(s));
    await kv.put("map", JSON.stringify({ version: 1, epoch: 1, shardCount, nodes, owners }));
    const received: string[] = [];
    const shared = nc.subscribe(clusterSubjects(cluster).ask, {
      callback: (_, m) => {
        const req = m.json<{ type: string; id: string; msg: unknown; timeoutMs: number }>();
        received.push(req.id);
        m.respond(JSON.stringify({ ok: true, reply: { balance: 0, version: 0, node: "shared", echo: req } }));
      },
    });
    cleanups.push(async () => {
      shared.unsubscribe();
      await kv.destroy();
    });
    return { cluster, shardCount, received };
  }

  it("falls back to the shared subject when the owner's node has no responders, and uses it for shards without an owner", async () => {
    // Half the shards belong to a node that is not there, half to none.
    const fake = await fakeCluster("ghost", ["ghost"], (s) => (s % 2 === 0 ? 0 : -1));
    const calls = await goClient(fake.cluster, ["-txn", "t-2", ...ACCOUNTS]);
    expect(calls).toHaveLength(2 * ACCOUNTS.length);
    for (const call of calls) {
      const owned = shardOf("account", call.id, fake.shardCount) % 2 === 0;
      expect(call.owner).toBe(owned ? "ghost" : "");
      expect(call.subject).toBe(clusterSubjects(fake.cluster).ask);
      expect(call.reply).toMatchObject({ node: "shared", echo: { type: "account", id: call.id, timeoutMs: 10_000 } });
    }
    expect(calls.filter((c) => c.owner === "ghost").length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.owner === "").length).toBeGreaterThan(0);
  });

  it("never resends a call that timed out (it may have been applied)", async () => {
    // Every shard belongs to a node that takes requests and never answers.
    const fake = await fakeCluster("mute", ["mute"], () => 0);
    const mute = nc.subscribe(nodeAskSubject(fake.cluster, "mute"), { callback: () => {} });
    cleanups.push(() => mute.unsubscribe());
    const calls = await goClient(fake.cluster, ["-timeout", "200ms", "alice"]);
    expect(calls.map((c) => [c.subject, c.error])).toEqual([
      [nodeAskSubject(fake.cluster, "mute"), expect.stringMatching(/timeout/i)],
      [nodeAskSubject(fake.cluster, "mute"), expect.stringMatching(/timeout/i)],
    ]);
    expect(fake.received).toEqual([]);
  });
});
