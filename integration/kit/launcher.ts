/**
 * The one decision the rest of the project leaves to the kit: where NATS comes from.
 * `NATS_URL` (use a running server) > a local binary > Docker > a clear error.
 */
import { findNatsServer, natsSearchNotes, NO_NATS_SERVER_HELP } from "./binary.js";
import { dockerAvailable, startNatsContainer } from "./docker.js";
import { startNatsServer } from "./server.js";
import type { NatsBinary, RunningServer, StartOptions } from "./types.js";

/** Where NATS comes from: a server someone else runs, a local binary, or a container. */
export type NatsSource = { kind: "external"; url: string } | { kind: "binary"; binary: NatsBinary } | { kind: "docker" };

/**
 * Decides where NATS comes from: env `NATS_URL` (nothing is started), else a nats-server
 * binary ({@link findNatsServer}, which may download one), else Docker. Throws an Error
 * saying how to get a server when none of these works.
 */
export async function resolveNats(): Promise<NatsSource> {
  const url = process.env.NATS_URL;
  if (url) return { kind: "external", url };
  return resolveLocal();
}

async function resolveLocal(): Promise<Exclude<NatsSource, { kind: "external" }>> {
  const binary = await findNatsServer();
  if (binary) return { kind: "binary", binary };
  if (await dockerAvailable()) return { kind: "docker" };
  const tried = [...natsSearchNotes(), "no Docker engine reachable"];
  throw new Error(`${NO_NATS_SERVER_HELP}\nWhat was tried:\n- ${tried.join("\n- ")}`);
}

/**
 * Starts a server of our own (ignoring `NATS_URL`: callers that kill or restart servers need
 * one): a local process when a binary exists, else a container.
 */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  if (opts.binary) return startNatsServer(opts);
  return startFrom(await resolveLocal(), opts);
}

function startFrom(source: Exclude<NatsSource, { kind: "external" }>, opts: StartOptions): Promise<RunningServer> {
  return source.kind === "binary" ? startNatsServer({ ...opts, binary: source.binary }) : startNatsContainer(opts);
}

/** A NATS URL for tests, the demo or benchmarks, and how to let go of it. */
export interface TestNats extends AsyncDisposable {
  readonly url: string;
  /** The server started for us, if `NATS_URL` was not set. */
  readonly server?: RunningServer;
  /** Stops the server we started; no-op for an external one. */
  stop(): Promise<void>;
}

/** `NATS_URL` when set, else a fresh JetStream server from {@link startServer}. */
export async function natsForTests(opts: StartOptions = {}): Promise<TestNats> {
  const source = await resolveNats();
  if (source.kind === "external") {
    const stop = async (): Promise<void> => {};
    return { url: source.url, stop, [Symbol.asyncDispose]: stop };
  }
  const server = opts.binary ? await startNatsServer(opts) : await startFrom(source, opts);
  const stop = (): Promise<void> => server.stop();
  return { url: server.url, server, stop, [Symbol.asyncDispose]: stop };
}
