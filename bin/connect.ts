import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import type { NatsAuth } from "./settings.js";

/** Connects with the given credentials; a clear error naming the URL when the server cannot be reached. */
export async function connectTo(url: string, name: string, auth: NatsAuth = {}): Promise<NatsConnection> {
  const opts: ConnectionOptions = {
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // nats.js otherwise builds an Error (with a stack) for every request up front, which costs a
    // third of the request rate; errors still carry their message and code.
    noAsyncTraces: true,
  };
  if (auth.user !== undefined) {
    opts.user = auth.user;
    opts.pass = auth.password;
  }
  if (auth.token !== undefined) opts.token = auth.token;
  if (auth.creds !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(auth.creds);
    } catch (err) {
      throw new Error(`cannot read the credentials file ${auth.creds}: ${(err as Error).message}`);
    }
    opts.authenticator = credsAuthenticator(creds);
  }
  if (auth.tlsCa !== undefined) opts.tls = { caFile: auth.tlsCa };
  try {
    return await connect(opts);
  } catch (err) {
    throw new Error(`cannot reach NATS at ${url}: ${(err as Error).message}`);
  }
}
