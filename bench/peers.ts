import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { trackChild, waitFor } from "../local-nats/index.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Starts the raw baseline peer (`raw-responder.ts`) on `subject` and waits until it serves. */
export async function startRawPeer(url: string, subject: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(here, "raw-responder.js"), url, subject], { stdio: ["ignore", "pipe", "inherit"] });
  trackChild(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes("ready") || child.exitCode !== null, { timeout: 15_000, message: "the raw peer never got ready" });
  if (!out.includes("ready")) throw new Error(`the raw peer exited with code ${child.exitCode}`);
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The path of the bench's echo actor module, for `shoal node --actors`. */
export const echoActorModule = join(here, "echo-actor.js");

/**
 * A node's event-loop delay p99 (ms) since the last call, from its Prometheus `/metrics`
 * (prom-client resets its event-loop histogram on every scrape).
 */
export async function eventLoopP99(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("nodejs_eventloop_lag_p99_seconds"));
  if (line === undefined) throw new Error("the node's /metrics has no nodejs_eventloop_lag_p99_seconds");
  return Number(line.split(" ").pop()) * 1000;
}
