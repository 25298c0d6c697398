import { readFileSync } from "node:fs";
import {
  AuthorizationError,
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";
import type { NatsAuth } from "./settings.js";

/**
 * Connects with the given credentials. Errors name the URL: one for a server that cannot be
 * reached, another for a server that refuses the credentials.
 */
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
  if (auth.creds !== undefined) opts.authenticator = credsAuthenticator(readSecret(auth.creds, "credentials file"));
  if (auth.nkeySeed !== undefined) opts.authenticator = nkeyAuthenticator(readSeed(auth.nkeySeed));
  if (auth.tlsCa !== undefined) opts.tls = { caFile: auth.tlsCa };
  if (auth.inboxPrefix !== undefined) opts.inboxPrefix = auth.inboxPrefix;
  try {
    return await connect(opts);
  } catch (err) {
    if (err instanceof AuthorizationError) {
      // Same prefix as an unreachable server (scripts match it), then what to check.
      throw new Error(
        `cannot reach NATS at ${url}: the server refused the credentials (${err.message}); check --user/--password, --token, --creds or --nkey-seed`,
      );
    }
    throw new Error(`cannot reach NATS at ${url}: ${(err as Error).message}`);
  }
}

function readSecret(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The user seed (`SU…`) in `path`, checked now so a bad file fails before connecting. */
function readSeed(path: string): Uint8Array {
  const seed = new TextDecoder().decode(readSecret(path, "nkey seed file")).trim();
  try {
    if (!seed.startsWith("SU")) throw new Error("not a user seed (it must start with SU)");
    nkeys.fromSeed(new TextEncoder().encode(seed));
  } catch (err) {
    throw new Error(`the nkey seed file ${path} holds no valid user seed: ${(err as Error).message}`);
  }
  return new TextEncoder().encode(seed);
}
