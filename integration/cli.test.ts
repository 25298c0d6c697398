import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { waitFor } from "./kit/index.js";

const bin = fileURLToPath(new URL("../bin/shoal.js", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
    const send = run(["send", "account", "a.b c", '{"deposit":{"amount":3,"txn":"x"}}', "--nats", url, "--cluster", cluster]);
    expect(await send.done).toBe(0);
    expect(JSON.parse(send.out())).toEqual({ balance: 3, version: 1, node: "cli-node", applied: true });
    const refused = run(["send", "account", "a.b c", '{"withdraw":{"amount":30,"txn":"y"}}', "--nats", url, "--cluster", cluster]);
    expect(await refused.done).toBe(1);
    expect(refused.err()).toMatch(/^REJECTED: insufficient funds/);
    node.child.kill("SIGTERM");
    expect(await node.done).toBe(0);
  });

  it("names the URL it could not reach", async () => {
    const send = run(["send", "account", "a", '{"balance":{}}', "--nats", "nats://127.0.0.1:1"]);
    expect(await send.done).toBe(1);
    expect(send.err()).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});
