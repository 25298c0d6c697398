/**
 * Stopping a node started the way the README says: `npx shoal node ...` from the repository,
 * then a signal to the process the user started (npx). npx runs the bin as a child of its own;
 * the node must still drain (its shards move away, the leader announces it left), exit 0, and
 * leave no process behind, whichever signal: SIGTERM or SIGINT to npx (`kill PID`), or SIGINT to
 * its whole process group, as a terminal's Ctrl-C sends it (then the node gets it twice: from the
 * terminal and forwarded by npm).
 *
 * In this repository npm runs commands through bash (.npmrc `script-shell`), which hands the
 * signal npm forwards to the node itself. The last test runs npx through dash instead (Debian's
 * sh, what npm uses where no .npmrc says otherwise): dash dies of the signal without passing it
 * on, and the node drains because its parent went away.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { ClusterEvent } from "../cluster/events.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { waitFor } from "./kit/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const SHARDS = 16;
const linux = process.platform === "linux";

let c: TestCluster;

beforeAll(async () => {
  c = await TestCluster.create(inject("natsUrl"), uniqueCluster("npx"), {
    shards: SHARDS,
    args: ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"],
  });
  c.start("a"); // first, so it leads and announces the others leaving
  await c.waitStable(["a"], 30_000);
});

afterAll(async () => {
  await c?.close();
});

/** Process groups of the npx runs (each its own), killed after each test whatever happened. */
const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // all gone already
    }
  }
});

/** `npx shoal node --id ID --cluster NAME`, the rest of the settings in the environment. */
function npxNode(id: string, env: Record<string, string> = {}) {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.npm_config_script_shell; // the repository's .npmrc decides, unless a test says otherwise
  const child = spawn("npx", ["shoal", "node", "--id", id, "--cluster", c.name], {
    cwd: root,
    detached: true, // a process group of its own, like a terminal's job
    env: {
      ...base,
      SHOAL_NATS_URL: c.url,
      SHOAL_SHARDS: String(SHARDS),
      SHOAL_MEMBER_TTL: "3000",
      SHOAL_HEARTBEAT: "1000",
      SHOAL_LEADER_TTL: "3000",
      SHOAL_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  groups.push(child.pid!);
  let logs = "";
  child.stdout!.on("data", (d) => (logs += d));
  child.stderr!.on("data", (d) => (logs += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, logs: () => logs };
}

/** Every process below `pid` (from /proc), deepest last. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    frontier = [...parentOf].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...frontier);
  }
  return found;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));

/** Starts `id` with npx, waits until it holds shards; resolves to the npx process and the node's pid. */
async function startWithNpx(id: string, env?: Record<string, string>) {
  const npx = npxNode(id, env);
  await waitFor(() => npx.logs().includes('"msg":"node ready"'), { timeout: 60_000, message: `${id} never got ready:\n${npx.logs()}` });
  await c.waitStable(["a", id], 30_000);
  const below = descendants(npx.child.pid!);
  const node = below.find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("shoal\0node"));
  expect(node, `no shoal node below npx (${below.join(", ")})`).toBeDefined();
  return { npx, below, node: node! };
}

function leaves(id: string): Promise<ClusterEvent> {
  return c.nextEvent((e) => e.type === "member.left" && e.member === id, 30_000);
}

async function expectGone(pids: number[]): Promise<void> {
  await waitFor(() => pids.every((p) => !alive(p)), { timeout: 30_000, message: `still running: ${pids.filter(alive).join(", ")}` });
}

describe.skipIf(!linux)("npx shoal node, stopped through the npx process", () => {
  const cases = [
    { signal: "SIGTERM", group: false, how: "SIGTERM to npx" },
    { signal: "SIGINT", group: false, how: "SIGINT to npx" },
    { signal: "SIGINT", group: true, how: "Ctrl-C (SIGINT to npx's process group), and again while it drains" },
  ] as const;
  for (const { signal, group, how } of cases) {
    it(`${how}: the node drains, leaves the cluster, exits 0, and so does npx; nothing is left running`, async () => {
      const id = `b-${signal.toLowerCase()}${group ? "-group" : ""}`;
      const { npx, below, node } = await startWithNpx(id);
      const left = leaves(id);
      if (group) {
        // A second Ctrl-C the moment the drain starts must not cut it short.
        const again = (d: Buffer) => {
          if (!d.toString().includes('"msg":"stopping"')) return;
          npx.child.stderr!.off("data", again);
          process.kill(node, signal);
        };
        npx.child.stderr!.on("data", again);
        process.kill(-npx.child.pid!, signal);
      } else {
        npx.child.kill(signal);
      }
      expect(await npx.exited).toEqual({ code: 0, signal: null });
      await left;
      await expectGone(below);
      expect(npx.logs()).toContain(`"why":"${signal}"`);
      if (group) expect(npx.logs()).toContain("already stopping");
      expect(npx.logs()).toMatch(/"complete":true,"msg":"drained"/);
      const [rest] = await c.waitStable(["a"], 30_000);
      expect(rest!.shards).toBe(SHARDS);
    });
  }

  it.skipIf(!existsSync("/bin/dash"))("through dash (npm's default sh on Debian): npx dies of the signal, the node still drains and exits", async () => {
    const id = "b-dash";
    const { npx, below, node } = await startWithNpx(id, { npm_config_script_shell: "/bin/dash" });
    expect(below.length).toBeGreaterThan(1); // npm → dash → node: the shell stays in between
    const left = leaves(id);
    npx.child.kill("SIGTERM");
    expect((await npx.exited).signal).toBe("SIGTERM"); // npm re-raises the signal its child died of
    expect(alive(node)).toBe(true); // orphaned, but it noticed
    await left;
    await expectGone(below);
    expect(npx.logs()).toMatch(/"why":"parent process \d+ exited"/);
    expect(npx.logs()).toMatch(/"complete":true,"msg":"drained"/);
  });
});
