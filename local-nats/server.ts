/**
 * One nats-server process on free ports with its own temp dir (config + JetStream store).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findNatsServer, NO_NATS_SERVER_HELP } from "./binary.js";
import { freePorts } from "./ports.js";
import { makeTempDir, removeTempDir, trackChild } from "./processes.js";
import { serverSettingsConfig } from "./server-settings.js";
import type { NatsBinary, RunningServer, StartOptions } from "./types.js";

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 5;

/** Thrown when a server does not come up; `addrInUse` says a retry on other ports may work. @internal */
export class ServerStartError extends Error {
  override name = "ServerStartError";
  constructor(
    message: string,
    readonly addrInUse: boolean,
  ) {
    super(message);
  }
}

/** How to run one server process. @internal */
export interface ServerSpec {
  binary: NatsBinary;
  dir: string;
  name: string;
  port: number;
  httpPort: number;
  jetstream: boolean;
  /** Config text appended after listen/http/jetstream (cluster block, opts.config). */
  extra: string;
  debug: boolean;
}

/** A nats-server child process; {@link RunningServer} plus `start`, for `startNatsServer` and the test kit's clusters. @internal */
export class NatsProcess implements RunningServer {
  readonly url: string;
  readonly monitorUrl: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output: string[] = [];
  private stopped: Promise<void> | undefined;
  /** True from spawn until the child closed (exited and its pipes drained). */
  private running = false;

  constructor(readonly spec: ServerSpec) {
    this.url = `nats://127.0.0.1:${spec.port}`;
    this.monitorUrl = `http://127.0.0.1:${spec.httpPort}`;
  }

  get port(): number {
    return this.spec.port;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Writes the config, spawns the server and polls `/healthz` until it answers ok. */
  async start(): Promise<void> {
    const { dir, name, port, httpPort, jetstream, extra } = this.spec;
    const conf = join(dir, "nats.conf");
    const lines = [
      `server_name: ${JSON.stringify(name)}`,
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${httpPort}"`,
      jetstream ? `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }` : "",
      serverSettingsConfig(),
      extra,
    ];
    await writeFile(conf, `${lines.join("\n")}\n`);
    await this.spawnAndWait(conf);
  }

  private async spawnAndWait(conf: string): Promise<void> {
    const child = spawn(this.spec.binary.path, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    this.child = child;
    this.running = true;
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.running = false;
        resolve();
      };
      child.once("close", done);
      // A failed spawn (ENOENT, EACCES) has no pid and may never close.
      child.on("error", (err) => {
        this.log(`spawn error: ${err.message}`);
        if (child.pid === undefined) done();
      });
    });
    const debug = this.spec.debug || process.env.SHOAL_KIT_DEBUG === "1";
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8").on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) if (line) this.log(line, debug);
      });
    }

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!this.running) throw this.startError(`exited with code ${child.exitCode ?? child.signalCode}`);
      if (await this.healthy()) return;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await this.exited;
        throw this.startError(`not healthy after ${READY_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private log(line: string, echo = false): void {
    this.output.push(line);
    if (this.output.length > 40) this.output.shift();
    if (echo) process.stderr.write(`[nats ${this.spec.name}] ${line}\n`);
  }

  private startError(why: string): ServerStartError {
    const out = this.output.join("\n");
    return new ServerStartError(
      `nats-server ${this.spec.name} (${this.spec.binary.path}, port ${this.spec.port}) ${why}; last output:\n${out}`,
      /address already in use/i.test(out),
    );
  }

  private async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.monitorUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Sends `signal`, then SIGKILL if still alive after the grace period; resolves once exited. */
  private async terminate(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    this.child?.kill(signal);
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    await this.terminate("SIGKILL");
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`nats-server ${this.spec.name} was stopped and its store removed`);
    await this.terminate("SIGTERM");
    this.output = [];
    await this.spawnAndWait(join(this.spec.dir, "nats.conf"));
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.terminate("SIGTERM");
      await removeTempDir(this.spec.dir);
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The binary from `opts`, or found by `findNatsServer`, or an Error saying how to get one. @internal */
export async function requireBinary(opts: StartOptions): Promise<NatsBinary> {
  const binary = opts.binary ?? (await findNatsServer());
  if (!binary) throw new Error(NO_NATS_SERVER_HELP);
  return binary;
}

/**
 * Starts one nats-server (JetStream on by default) on free ports in a fresh temp dir and resolves
 * once `/healthz` is ok. Retries on other ports if one was taken meanwhile. Stop it with
 * `stop()` or `await using`.
 */
export async function startNatsServer(opts: StartOptions = {}): Promise<RunningServer> {
  const binary = await requireBinary(opts);
  for (let attempt = 1; ; attempt++) {
    const dir = makeTempDir();
    const [port, httpPort] = opts.port ? [opts.port, ...(await freePorts(1))] : await freePorts(2);
    const server = new NatsProcess({
      binary,
      dir,
      name: `shoal-${port}`,
      port: port!,
      httpPort: httpPort!,
      jetstream: opts.jetstream ?? true,
      extra: opts.config ?? "",
      debug: opts.debug ?? false,
    });
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.stop();
      const retry = err instanceof ServerStartError && err.addrInUse && !opts.port && attempt < START_ATTEMPTS;
      if (!retry) throw err;
    }
  }
}
