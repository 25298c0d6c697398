/** The shapes local-nats hands out: a nats-server binary, how to start one, and a running one. */

/** Where a nats-server binary came from, for messages and for refusing unfit versions. */
export interface NatsBinary {
  path: string;
  /** e.g. "2.15.1" */
  version: string;
  source: "env" | "path" | "cache" | "debian-download";
}

/** How {@link startNatsServer} runs a server. */
export interface StartOptions {
  /** Enable JetStream with a fresh temp store dir (default true). */
  jetstream?: boolean;
  /** Extra lines of nats-server config (e.g. authorization blocks). */
  config?: string;
  /** Log server output to this process's stderr (default false; env SHOAL_KIT_DEBUG=1 forces it). */
  debug?: boolean;
  /** Use this binary instead of searching with `findNatsServer`. */
  binary?: NatsBinary;
  /** Fixed client port (e.g. 4222 for a demo); default a free one. A fixed port is not retried when taken. */
  port?: number;
}

/** One running server (a local process, or in the test kit also a container). */
export interface RunningServer extends AsyncDisposable {
  /** Client URL, e.g. nats://127.0.0.1:4222 */
  readonly url: string;
  /** Client port. */
  readonly port: number;
  /** `server_name` of a process server (matches JetStream's `cluster.leader` / peer names). */
  readonly name?: string;
  /** Monitoring base URL of a process server, e.g. http://127.0.0.1:8222 (`/healthz`, `/jsz`, `/varz`). */
  readonly monitorUrl?: string;
  /** OS process id of a running process server (for CPU accounting); undefined for a container or a stopped server. */
  readonly pid?: number;
  /** Graceful stop, removes the temp store. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (process servers only); keeps the store so {@link restart} finds its data. */
  kill(): Promise<void>;
  /** Starts again on the same ports with the same store (after kill or stop-without-cleanup). */
  restart(): Promise<void>;
}
