import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { startNatsServer, waitFor } from "./kit/index.js";
import { freePorts } from "./kit/index.js";

const bin = fileURLToPath(new URL("../bin/shoal.js", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Runs `shoal args` (or `command args`, e.g. script(1)), collecting its output. */
function run(args: string[], env: Record<string, string> = {}, command?: string) {
  const argv = command === undefined ? [process.execPath, bin, ...args] : [command, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = once(child, "exit").then(([code]) => code as number);
  return { child, done, out: () => stdout, err: () => stderr };
}

describe("shoal command (real processes, real nats-server)", () => {
  it("prints help and refuses bad usage with exit 2", async () => {
    const help = run(["--help"]);
    expect(await help.done).toBe(0);
    expect(help.out()).toMatch(/Usage: shoal <command>/);
    const bad = run(["node", "--no-such-flag"]);
    expect(await bad.done).toBe(2);
    expect(bad.err()).toMatch(/no-such-flag/);
    const unknown = run(["frobnicate"]);
    expect(await unknown.done).toBe(2);
  });

  it("runs a node that send can talk to, and stops it gracefully on SIGTERM", async () => {
    const url = inject("natsUrl");
    const cluster = `cli${process.pid}`;
    const node = run(["node", "--nats", url, "--id", "cli-node", "--cluster", cluster], { SHOAL_LOG_LEVEL: "info" });
    await waitFor(() => node.err().includes("node ready"), { timeout: 20_000, message: "node did not get ready" });
    const send = run(["ask", "account", "a.b c", '{"deposit":{"amount":3,"txn":"x"}}', "--nats", url, "--cluster", cluster]);
    expect(await send.done).toBe(0);
    expect(JSON.parse(send.out())).toEqual({ balance: 3, version: 1, node: "cli-node", applied: true });
    const refused = run(["ask", "account", "a.b c", '{"withdraw":{"amount":30,"txn":"y"}}', "--nats", url, "--cluster", cluster]);
    expect(await refused.done).toBe(1);
    expect(refused.err()).toMatch(/^REJECTED: insufficient funds/);
    node.child.kill("SIGTERM");
    expect(await node.done).toBe(0);
  });

  it("reports an invalid cluster name as such, with the usage, exit 2, before connecting", async () => {
    for (const [cmd, ...args] of [["node"], ["send", "account", "a", "{}"], ["status"], ["watch"]]) {
      const r = run([cmd!, ...args, "--cluster", "a.b", "--nats", inject("natsUrl")]);
      expect(await r.done, cmd).toBe(2);
      expect(r.err(), cmd).toMatch(/^shoal \w+: invalid cluster name "a\.b": use 1-64 letters, digits, "_" or "-"/);
      expect(r.err(), cmd).toContain(`shoal ${cmd}`); // the usage follows
    }
    const fromEnv = run(["node", "--nats", inject("natsUrl")], { SHOAL_CLUSTER: "bank account" });
    expect(await fromEnv.done).toBe(2);
    expect(fromEnv.err()).toMatch(/invalid cluster name "bank account"/);
  });

  it("fails on an HTTP port in use before joining the cluster", async () => {
    const url = inject("natsUrl");
    const cluster = `clih${process.pid}`;
    const [port] = await freePorts(1);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    try {
      const node = run(["node", "--nats", url, "--id", "h1", "--cluster", cluster, "--http", String(port)], { SHOAL_LOG_LEVEL: "info" });
      expect(await node.done).toBe(1);
      expect(node.err()).toContain(`shoal: cannot serve HTTP on 127.0.0.1:${port}: the port is in use (EADDRINUSE)`);
      expect(node.err()).not.toContain("node joined");
      const status = run(["status", "--nats", url, "--cluster", cluster]);
      expect(await status.done).toBe(1);
      expect(status.err()).toMatch(new RegExp(`no cluster named "${cluster}"`)); // it never created a thing
    } finally {
      taken.close();
    }
  });

  it('serves HTTP while it joins: /healthz 503 "starting" until the node is up', async () => {
    await using server = await startNatsServer({ jetstream: false }); // joining retries until --startup-timeout
    const [port] = await freePorts(1);
    const node = run(["node", "--nats", server.url, "--cluster", "early", "--http", String(port), "--startup-timeout", "20000"], { SHOAL_LOG_LEVEL: "info" });
    await waitFor(() => node.err().includes("NATS not ready yet"), { timeout: 10_000, message: `the node never tried to join:\n${node.err()}` });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, error: "starting", cluster: "early" });
    const status = await fetch(`http://127.0.0.1:${port}/status`);
    expect(status.status).toBe(503);
    expect(await status.json()).toEqual({ error: "the node is starting" });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200); // the dashboard needs no node
    node.child.kill("SIGKILL");
  });

  it("logs JSON lines when stderr is not a terminal, pretty lines on a terminal or when asked", async () => {
    // Each run logs "http listening", then fails to reach NATS (nothing listens on port 1).
    const [port] = await freePorts(1);
    const args = ["node", "--nats", "nats://127.0.0.1:1", "--id", "l1", "--http", String(port)];
    const json = run(args, { SHOAL_LOG_LEVEL: "info" });
    expect(await json.done).toBe(1);
    expect(json.err()).toMatch(/^\{"level":30,.*"msg":"http listening"\}$/m);
    const pretty = run(args, { SHOAL_LOG_LEVEL: "info", SHOAL_LOG_FORMAT: "pretty" });
    expect(await pretty.done).toBe(1);
    expect(pretty.err()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: l1 http listening \{/m);
    expect(pretty.err()).not.toContain('"msg"');
    const forcedJson = run([...args, "--log-format", "json"], { SHOAL_LOG_LEVEL: "info", SHOAL_LOG_FORMAT: "pretty" });
    expect(await forcedJson.done).toBe(1);
    expect(forcedJson.err()).toContain('"msg":"http listening"');
    const bad = run(args, { SHOAL_LOG_FORMAT: "xml" });
    expect(await bad.done).toBe(2);
    expect(bad.err()).toMatch(/--log-format must be json or pretty, got "xml"/);
    // A terminal: script(1) gives the command a pseudo-terminal for its stdio.
    const command = [process.execPath, bin, ...args].map((a) => `'${a}'`).join(" ");
    const tty = run(["-q", "-e", "-c", command, "/dev/null"], { SHOAL_LOG_LEVEL: "info", NO_COLOR: "1" }, "script");
    expect(await tty.done).toBe(1);
    expect(tty.out()).toMatch(/INFO: l1 http listening/);
    expect(tty.out()).not.toContain('"msg"');
  });

  it("names the URL it could not reach", async () => {
    const send = run(["ask", "account", "a", '{"balance":{}}', "--nats", "nats://127.0.0.1:1"]);
    expect(await send.done).toBe(1);
    expect(send.err()).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  });

  it("status --json and watch --json describe a real cluster", async () => {
    const url = inject("natsUrl");
    const cluster = `clis${process.pid}`;
    const common = ["--nats", url, "--cluster", cluster];
    const watch = run(["watch", "--json", "--count", "3", ...common]);
    await waitFor(() => watch.err().includes("watching"), { timeout: 10_000, message: "watch never subscribed" });
    const n1 = run(["node", "--id", "s1", "--shards", "16", ...common], { SHOAL_LOG_LEVEL: "info" });
    await waitFor(() => n1.err().includes("node ready"), { timeout: 20_000, message: "s1 not ready" });
    const n2 = run(["node", "--id", "s2", "--shards", "16", ...common], { SHOAL_LOG_LEVEL: "info" });
    await waitFor(() => n2.err().includes("node ready"), { timeout: 20_000, message: "s2 not ready" });
    let status: { leader: string; epoch: number; mapVersion: number; nodes: Array<{ id: string; state: string; shards: number; actors: number }> } | undefined;
    await waitFor(
      async () => {
        const st = run(["status", "--json", ...common]);
        if ((await st.done) !== 0) return false;
        status = JSON.parse(st.out());
        return status!.nodes.length === 2 && status!.nodes.every((n) => n.shards === 8);
      },
      { timeout: 20_000, message: "status never showed two nodes with 8 shards each" },
    );
    expect(["s1", "s2"]).toContain(status!.leader);
    expect(status!.epoch).toBeGreaterThan(0);
    expect(status!.mapVersion).toBeGreaterThanOrEqual(2);
    expect(status!.nodes.map((n) => [n.id, n.state])).toEqual([
      ["s1", "active"],
      ["s2", "active"],
    ]);
    expect(status!.nodes.every((n) => typeof n.actors === "number")).toBe(true);
    const table = run(["status", ...common]);
    expect(await table.done).toBe(0);
    expect(table.out()).toMatch(/NODE\s+STATE\s+SHARDS\s+ACTORS/);
    expect(await watch.done).toBe(0);
    const events = watch
      .out()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; cluster: string });
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.cluster === cluster)).toBe(true);
    expect(events.map((e) => e.type)).toContain("leader.elected");
    const missing = run(["status", "--nats", url, "--cluster", "never-started"]);
    expect(await missing.done).toBe(1);
    expect(missing.err()).toMatch(/no cluster named "never-started"/);
    n1.child.kill("SIGTERM");
    n2.child.kill("SIGTERM");
    expect(await n1.done).toBe(0);
    expect(await n2.done).toBe(0);
  });

  it("demo scales a real cluster up and down and ends with lost=0", async () => {
    const demo = run(["demo", "--nodes", "2"], { NATS_URL: inject("natsUrl") });
    expect(await demo.done).toBe(0);
    expect(demo.out()).toMatch(/scale up: node-3 joins/);
    expect(demo.out()).toMatch(/shard \d+ node-\d → node-3/); // migrations shown as they happen
    expect(demo.out()).toMatch(/node-1 exited with 0/);
    expect(demo.out()).toMatch(/^verification: sent=\d+ acknowledged=\d+ lost=0 duplicated=0/m);
    expect(demo.out()).toMatch(/^read side: account-balances matches 20 of 20 accounts, caught up \d+ ms/m);
  }, 90_000);

  it("reads a config file and connects with NATS credentials (user/password on an auth-enabled server)", async () => {
    await using server = await startNatsServer({ config: 'authorization { users = [ { user: "shoal", password: "s3cret" } ] }' });
    const dir = await mkdtemp(join(tmpdir(), "shoal-cfg-"));
    const cfg = join(dir, "node.json");
    await writeFile(cfg, JSON.stringify({ nats: server.url, user: "shoal", password: "s3cret", cluster: "cfg", id: "c1", shards: 8 }));
    const node = run(["node", "--config", cfg], { SHOAL_LOG_LEVEL: "info" });
    await waitFor(() => node.err().includes("node ready"), { timeout: 20_000, message: `node with a config file never got ready:\n${node.err()}` });
    const ok = run(["ask", "account", "a", '{"balance":{}}', "--nats", server.url, "--cluster", "cfg", "--user", "shoal", "--password", "s3cret"]);
    expect(await ok.done).toBe(0);
    expect(JSON.parse(ok.out())).toMatchObject({ node: "c1" });
    const denied = run(["ask", "account", "a", '{"balance":{}}', "--nats", server.url, "--cluster", "cfg", "--user", "shoal", "--password", "wrong"]);
    expect(await denied.done).toBe(1);
    expect(denied.err()).toMatch(/cannot reach NATS at .*(Authorization|AUTHORIZATION)/i);
    const bad = run(["node", "--config", cfg, "--nats", server.url], { SHOAL_CONFIG: "" });
    const badCfg = join(dir, "bad.json");
    await writeFile(badCfg, JSON.stringify({ cluster: "cfg", colour: "blue" }));
    const refused = run(["node", "--config", badCfg]);
    expect(await refused.done).toBe(2);
    expect(refused.err()).toMatch(/unknown keys: colour/);
    bad.child.kill("SIGKILL");
    node.child.kill("SIGTERM");
    expect(await node.done).toBe(0);
  });
});
