/**
 * The adoption path, end to end, as the README's "Use Shoal in your own project" says: the
 * packed tarball installs into a fresh project outside the repository (made by `shoal init`),
 * whose own build and tests pass; two `npx shoal node --actors` processes host its actor; its
 * TypeScript client calls them with typed references; SIGTERM to the processes the user
 * started drains them and they exit 0. Needs the npm registry (typescript, @types/node).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { gatherClusterStatus } from "../cluster/cluster-status.js";
import { natsCacheDir, waitFor } from "./kit/index.js";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const cluster = `adopt${process.pid}`;
let work: string;
let app: string;
let tarball: string;
let nc: NatsConnection;
const children: ChildProcess[] = [];

/** Runs a command in `cwd`, failing with its output when it fails. */
async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const r = await run(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 32 << 20 });
    return r.stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

/** What the user types to run a node in their project, as a child process of ours. */
function startNode(id: string) {
  const child = spawn("npx", ["shoal", "node", "--id", id, "--cluster", cluster, "--nats", inject("natsUrl"), "--actors", "./dist/src/actors.js"], {
    cwd: app,
    env: { ...process.env, SHOAL_LOG_LEVEL: "info", SHOAL_LOG_FORMAT: "json" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  let log = "";
  child.stderr!.on("data", (d) => (log += d));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, log: () => log };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "shoal-adopt-"));
  // `npm test` has built dist/; the tarball is what `npm pack` makes of it.
  const packed = (await sh("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], repo)).trim().split("\n").at(-1)!;
  tarball = join(work, packed);
  app = join(work, "my-app");
  await sh(process.execPath, [join(repo, "bin", "shoal.js"), "init", app, "--shoal", tarball], repo);
  await sh("npm", ["install", "--no-audit", "--no-fund"], app);
  nc = await connect({ servers: inject("natsUrl") });
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await nc?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("a project of one's own, on the packed tarball", () => {
  it("installs the tarball outside the repository, with no test code in it", async () => {
    expect(app.startsWith(repo)).toBe(false);
    const pkg = JSON.parse(await readFile(join(app, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.shoal).toBe(`file:${tarball}`);
    const listing = await sh("tar", ["-tzf", tarball], work);
    expect(listing).toMatch(/package\/dist\/testing\/index\.js/);
    expect(listing).not.toMatch(/package\/dist\/(integration|test|bench)\//);
  });

  it("builds and passes its own tests (shoal/testing: one process, then a 2-node cluster)", async () => {
    // The kit finds or fetches a nats-server; the repository's cache spares CI a second download.
    const out = await sh("npm", ["test"], app, { SHOAL_CACHE_DIR: natsCacheDir(), NATS_URL: "" });
    expect(out).toMatch(/# pass 2/);
    expect(out).toMatch(/# fail 0/);
  }, 240_000);

  it("runs two `npx shoal node --actors` processes, calls them from its TypeScript client, and drains them on SIGTERM", async () => {
    const nodes = [startNode("n1"), startNode("n2")];
    await waitFor(
      async () => {
        const s = await gatherClusterStatus(nc, cluster).catch(() => undefined);
        return s !== undefined && s.nodes.length === 2 && s.nodes.every((n) => n.shards > 0 && n.types?.includes("counter")) && s.migrations === 0;
      },
      { timeout: 60_000, interval: 200, message: `two nodes did not settle: ${nodes.map((n) => n.log().slice(-500)).join("\n")}` },
    );
    for (const id of ["alpha", "beta", "gamma", "delta"]) {
      const out = await sh(process.execPath, ["dist/src/client.js", id], app, { NATS_URL: inject("natsUrl"), SHOAL_CLUSTER: cluster });
      expect(JSON.parse(out.trim())).toEqual({ id, afterIncrement: 1, value: 2, version: 2, node: expect.stringMatching(/^n[12]$/) });
    }
    // SIGTERM to the process the user started (npx), as `kill %1` would send it.
    for (const n of nodes) n.child.kill("SIGTERM");
    for (const n of nodes) expect(await n.exited, n.log().slice(-2000)).toBe(0);
    expect(nodes.some((n) => n.log().includes('"drained"'))).toBe(true);
    const after = await gatherClusterStatus(nc, cluster);
    expect(after.nodes).toEqual([]);
  }, 120_000);
});
