/**
 * The one question a tool that needs "some NATS" asks: `NATS_URL` if the user runs a server,
 * else a server of our own.
 */
import { findNatsServer, natsSearchNotes, NO_NATS_SERVER_HELP } from "./binary.js";
import { startNatsServer } from "./server.js";
import type { RunningServer, StartOptions } from "./types.js";

/** A NATS URL to use, and how to let go of it. */
export interface LocalNats extends AsyncDisposable {
  readonly url: string;
  /** The server started for us; undefined when `NATS_URL` named one. */
  readonly server?: RunningServer;
  /** Stops the server we started; no-op for a `NATS_URL` one. */
  stop(): Promise<void>;
}

/**
 * A NATS server to use: env `NATS_URL` as is (nothing is started), else a fresh JetStream
 * nats-server from {@link startNatsServer} (which finds, and may download, a binary). Throws an
 * Error saying how to get a server, and what was tried, when there is none.
 */
export async function localNats(opts: StartOptions = {}): Promise<LocalNats> {
  const url = process.env.NATS_URL;
  if (url) {
    const stop = async (): Promise<void> => {};
    return { url, stop, [Symbol.asyncDispose]: stop };
  }
  const binary = opts.binary ?? (await findNatsServer());
  if (!binary) throw new Error(`${NO_NATS_SERVER_HELP}\nWhat was tried:\n- ${natsSearchNotes().join("\n- ")}`);
  const server = await startNatsServer({ ...opts, binary });
  const stop = (): Promise<void> => server.stop();
  return { url: server.url, server, stop, [Symbol.asyncDispose]: stop };
}
