import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { isIP } from "node:net";
import { isLoopback, MIN_ADMIN_TOKEN_LENGTH } from "../../cluster/http/admin-auth.js";
import { NodeHttp } from "../../cluster/http/server.js";
import type { Logger } from "../../src/log.js";
import { positiveInt, UsageError } from "../args.js";
import type { Settings } from "../settings.js";

/** `shoal node`'s HTTP flags, as its help lists them. */
export const nodeHttpHelp = `  --http PORT       serve HTTP on this port                (env SHOAL_HTTP_PORT; default none)
  --http-host HOST  the address HTTP listens on           (env SHOAL_HTTP_HOST; default 127.0.0.1)
  --admin-token-file FILE  file holding the token POST /admin/drain needs (env SHOAL_ADMIN_TOKEN_FILE)
  --admin-token T   that token itself, at least ${MIN_ADMIN_TOKEN_LENGTH} characters (env SHOAL_ADMIN_TOKEN)`;

/** Config file keys of {@link nodeHttpHelp}'s flags. */
export const nodeHttpKeys = ["http", "http-host", "admin-token", "admin-token-file"] as const;

/** The flags for `parse`. */
export const nodeHttpFlags = {
  http: { type: "string" },
  "http-host": { type: "string" },
  "admin-token": { type: "string" },
  "admin-token-file": { type: "string" },
} as const;

/** Where and how a node serves HTTP. */
export interface NodeHttpSettings {
  port: number;
  host: string;
  adminToken?: string;
}

/** The HTTP settings, or undefined when the node serves no HTTP; usage errors name the flag. */
export function nodeHttpSettings(s: Settings): NodeHttpSettings | undefined {
  const portFlag = s.get("http", ["SHOAL_HTTP_PORT"]);
  const host = s.get("http-host", ["SHOAL_HTTP_HOST"]);
  const token = s.get("admin-token", ["SHOAL_ADMIN_TOKEN"]);
  const tokenFile = s.get("admin-token-file", ["SHOAL_ADMIN_TOKEN_FILE"]);
  if (portFlag === undefined) {
    const stray = host !== undefined ? "--http-host" : token !== undefined ? "--admin-token" : tokenFile !== undefined ? "--admin-token-file" : undefined;
    if (stray !== undefined) throw new UsageError(`${stray} needs --http PORT`);
    return undefined;
  }
  const port = positiveInt("http", portFlag, 0);
  if (port > 65535) throw new UsageError(`--http must be a port (1-65535), got ${port}`);
  if (host !== undefined && !isHostName(host)) throw new UsageError(`--http-host must be an IP address or a host name, got ${JSON.stringify(host)}`);
  if (token !== undefined && tokenFile !== undefined) throw new UsageError("give --admin-token or --admin-token-file, not both");
  const adminToken = tokenFile !== undefined ? readToken(tokenFile) : token;
  if (adminToken !== undefined) checkToken(adminToken, tokenFile === undefined ? "--admin-token" : `the token in ${tokenFile}`);
  return { port, host: host ?? "127.0.0.1", ...(adminToken === undefined ? {} : { adminToken }) };
}

/**
 * Binds the node's HTTP server; it answers 503 until the node is attached. Called before the
 * node joins the cluster, so a port in use stops the command before anything else happens.
 */
export async function startNodeHttp(settings: NodeHttpSettings, cluster: string, log: Logger, onDrain: () => void): Promise<NodeHttp> {
  let http: NodeHttp;
  try {
    http = await NodeHttp.start({ ...settings, cluster, logger: log, onDrain });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "EADDRINUSE"
        ? "the port is in use"
        : e.code === "EADDRNOTAVAIL"
          ? "no such address on this machine"
          : e.code === "EACCES"
            ? "permission denied"
            : e.message;
    throw new Error(`cannot serve HTTP on ${hostPort(settings.host, settings.port)}: ${why} (${e.code ?? "error"})`);
  }
  const wildcard = settings.host === "0.0.0.0" || settings.host === "::";
  const admin = http.adminTokenRequired ? "token" : isLoopback(settings.host) ? "local requests" : "disabled (no token)";
  log.info({ url: `http://${hostPort(wildcard ? hostname() : settings.host, http.port)}/`, host: settings.host, port: http.port, admin }, "http listening");
  return http;
}

function readToken(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new UsageError(`cannot read the admin token file ${path}: ${(err as Error).message}`);
  }
}

function checkToken(token: string, what: string): void {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) throw new UsageError(`${what} is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`);
  if (/\s/.test(token)) throw new UsageError(`${what} contains white space`);
}

function isHostName(h: string): boolean {
  return isIP(h) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(h);
}

function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
