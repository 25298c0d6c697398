/**
 * A `shoal node` child process, as the demo, the benchmarks and tests run one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "./cache-dir.js";
import { trackChild } from "./processes.js";
import { waitFor } from "./wait.js";

/** How {@link NodeProcess.start} runs a node. */
export interface NodeProcessOptions {
  /** NATS URL(s) the node connects to. */
  url: string;
  /** `--id`: the node's id in its cluster. */
  id: string;
  /** `--cluster`: the cluster's name. */
  cluster: string;
  /** More `shoal node` flags (e.g. ["--member-ttl", "3000"]). */
  args?: string[];
  /** Environment on top of this process's (default SHOAL_LOG_LEVEL: $SHOAL_NODE_LOG_LEVEL or "info"). */
  env?: Record<string, string>;
}

/**
 * A real `shoal node` process (the compiled CLI, `bin/shoal.js` of this package), killed when
 * this process exits. Its output (pino JSON lines) is kept for assertions and shown when a wait
 * fails.
 */
export class NodeProcess {
  /** The child process. */
  readonly child: ChildProcess;
  /** Resolves to the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  private output = "";

  private constructor(
    readonly id: string,
    child: ChildProcess,
  ) {
    this.child = child;
    trackChild(child);
    child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** Spawns `node bin/shoal.js node --nats <url> --id <id> --cluster <cluster> ...args`. */
  static start(opts: NodeProcessOptions): NodeProcess {
    const root = packageRoot();
    if (root === undefined) throw new Error("cannot find the shoal package root to start a node");
    // SHOAL_NODE_EXEC_ARGV: Node flags for every node process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
    // to profile the nodes of a bench or a chaos run; NODE_OPTIONS refuses --cpu-prof).
    const execArgv = (process.env.SHOAL_NODE_EXEC_ARGV ?? "").split(" ").filter((a) => a !== "");
    const args = [...execArgv, join(root, "bin", "shoal.js"), "node", "--nats", opts.url, "--id", opts.id, "--cluster", opts.cluster, ...(opts.args ?? [])];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, SHOAL_LOG_LEVEL: process.env.SHOAL_NODE_LOG_LEVEL ?? "info", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new NodeProcess(opts.id, child);
  }

  /** Everything the process printed so far. */
  get logs(): string {
    return this.output;
  }

  /** The child's OS process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** True until the child exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until a log line contains `text`. */
  async waitForLog(text: string, timeout = 20_000): Promise<void> {
    await waitFor(() => this.output.includes(text), { timeout, message: `${this.id} never logged ${JSON.stringify(text)}:\n${this.output.slice(-3000)}` });
  }

  /**
   * When this node first applied a shard map that gave it shards, at or after `since` (ms, from
   * its pino lines); +Infinity if it has not. After a pause past its TTL it owns nothing, and may
   * write nothing, before that moment.
   */
  firstOwnership(since: number): number {
    for (const line of this.output.split("\n")) {
      if (!line.includes("shard map applied")) continue;
      try {
        const l = JSON.parse(line) as { time: number; owned: number };
        if (l.time >= since && l.owned > 0) return l.time;
      } catch {
        // not a JSON line
      }
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Sends `sig` unless the child already exited. */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
  }

  /** SIGTERM and wait; resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill("SIGCONT"); // a stopped process cannot handle SIGTERM
    this.child.kill("SIGTERM");
    return this.exited;
  }
}
