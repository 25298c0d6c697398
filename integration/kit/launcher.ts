/**
 * Where NATS comes from in tests: local-nats's answer (`NATS_URL`, else a local binary), with
 * Docker as the tests' last resort before a clear error.
 */
import {
  findNatsServer,
  type LocalNats,
  localNats,
  type NatsBinary,
  natsSearchNotes,
  NO_NATS_SERVER_HELP,
  type RunningServer,
  type StartOptions,
  startNatsServer,
} from "../../local-nats/index.js";
import { dockerAvailable, startNatsContainer } from "./docker.js";

/** Where NATS comes from: a server someone else runs, a local binary, or a container. */
export type NatsSource = { kind: "external"; url: string } | { kind: "binary"; binary: NatsBinary } | { kind: "docker" };

/**
 * Decides where NATS comes from: env `NATS_URL` (nothing is started), else a nats-server
 * binary (`findNatsServer`, which may download one), else Docker. Throws an Error saying how to
 * get a server when none of these works.
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
  const tried = [...natsSearchNotes(), "no Docker engine reachable (tests can run nats-server in a container)"];
  throw new Error(`${NO_NATS_SERVER_HELP}\nWhat was tried:\n- ${tried.join("\n- ")}`);
}

/**
 * Starts a server of our own (ignoring `NATS_URL`: callers that kill or restart servers need
 * one): a local process when a binary exists, else a container.
 */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  if (opts.binary) return startNatsServer(opts);
  const source = await resolveLocal();
  return source.kind === "binary" ? startNatsServer({ ...opts, binary: source.binary }) : startNatsContainer(opts);
}

/** A NATS URL for tests, and how to let go of it (local-nats's {@link LocalNats}). */
export type TestNats = LocalNats;

/** `NATS_URL` when set, else a fresh JetStream server from {@link startServer}. */
export async function natsForTests(opts: StartOptions = {}): Promise<TestNats> {
  const source = opts.binary ? undefined : await resolveNats();
  if (source?.kind !== "docker") return localNats(source?.kind === "binary" ? { ...opts, binary: source.binary } : opts);
  const server = await startNatsContainer(opts);
  const stop = (): Promise<void> => server.stop();
  return { url: server.url, server, stop, [Symbol.asyncDispose]: stop };
}
