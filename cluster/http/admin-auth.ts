import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";

/** Shortest admin token accepted: a short one can be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Why an admin request is refused: the HTTP status, a JSON `{error}` and extra headers. */
export interface AdminRefusal {
  status: 401 | 403;
  error: string;
  headers?: Record<string, string>;
}

/**
 * Decides who may call a node's admin routes (`POST /admin/drain`):
 * - with a token configured, only requests carrying `Authorization: Bearer <token>` (compared in
 *   constant time), wherever the server listens;
 * - without one, on a loopback address, local requests: the Host must name a loopback address,
 *   a browser's Origin must be that same host (so neither a page of another site nor one
 *   reached by DNS rebinding can drain the node from a developer's browser), and no proxy may
 *   have forwarded it (a reverse proxy on the same machine makes loopback reachable from afar);
 * - without one, beyond loopback: nobody (403, saying how to enable them).
 */
export class AdminGuard {
  private readonly digest: Buffer | undefined;

  constructor(
    /** The address the server listens on. */
    private readonly host: string,
    token?: string,
  ) {
    this.digest = token === undefined ? undefined : sha256(token);
  }

  /** True when the routes need a token (one is configured). */
  get tokenRequired(): boolean {
    return this.digest !== undefined;
  }

  /** Undefined if the request may proceed, else why not. */
  check(headers: IncomingHttpHeaders): AdminRefusal | undefined {
    if (this.digest !== undefined) {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? "");
      // Both sides hashed: equal lengths for timingSafeEqual, and no length leaks either.
      if (m !== null && timingSafeEqual(sha256(m[1]!), this.digest)) return undefined;
      return {
        status: 401,
        error: "admin routes need the admin token: send Authorization: Bearer <token>",
        headers: { "WWW-Authenticate": 'Bearer realm="shoal admin"' },
      };
    }
    if (!isLoopback(this.host)) {
      return {
        status: 403,
        error:
          `admin routes are disabled: this node serves HTTP on ${this.host}, beyond loopback, without an admin token. ` +
          "Start it with --admin-token-file FILE (or --admin-token, env SHOAL_ADMIN_TOKEN) and send Authorization: Bearer <token>, " +
          "or serve HTTP on loopback only (--http-host 127.0.0.1)",
      };
    }
    const host = hostOf(headers.host);
    if (host === undefined || !isLoopback(host)) {
      return { status: 403, error: "admin routes without a token answer only requests addressed to a loopback host (Host: 127.0.0.1, localhost or [::1])" };
    }
    if (headers.origin !== undefined && headers.origin !== `http://${headers.host}`) {
      return { status: 403, error: "admin routes without a token refuse cross-origin requests" };
    }
    if (PROXY_HEADERS.some((h) => headers[h] !== undefined)) {
      return { status: 403, error: "admin routes without a token refuse requests through a proxy: start the node with --admin-token-file FILE" };
    }
    return undefined;
  }
}

/** Headers a reverse proxy adds to say whom it forwards for. */
const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"] as const;

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^(0{0,4}:){0,5}:?ffff:127\./.test(h) || /^(0{1,4}:){7}0{0,3}1$/.test(h);
  return false;
}

/** The host name of a Host header (without the port), or undefined if there is none. */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined || header === "") return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (bracketed !== null) return bracketed[1];
  return header.replace(/:\d+$/, "");
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}
