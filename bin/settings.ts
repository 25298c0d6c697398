import { readFileSync } from "node:fs";
import { CLUSTER_NAME_PATTERN } from "../src/actor/names.js";
import { UsageError } from "./args.js";

/**
 * Where a setting comes from, strongest first: the flag, the environment, the config file
 * (`--config FILE` / `SHOAL_CONFIG`, JSON whose keys are the flag names, e.g.
 * `{"nats": "nats://n1:4222", "cluster": "bank", "member-ttl": 3000, "actors": ["./a.js"]}`),
 * then the default.
 */
export class Settings {
  private constructor(
    private readonly flags: Record<string, unknown>,
    private readonly file: Record<string, unknown>,
  ) {}

  /**
   * Reads the config file named by --config or SHOAL_CONFIG (none: an empty one). Unknown keys are
   * a usage error; the keys of {@link connectionFlags} are always known.
   */
  static load(flags: Record<string, unknown>, knownKeys: readonly string[]): Settings {
    const known = [...new Set([...knownKeys, ...Object.keys(connectionFlags).filter((k) => k !== "config")])];
    const path = (flags.config as string | undefined) ?? process.env.SHOAL_CONFIG;
    if (path === undefined || path === "") return new Settings(flags, {});
    let file: unknown;
    try {
      file = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
    if (typeof file !== "object" || file === null || Array.isArray(file)) throw new UsageError(`config file ${path} must hold a JSON object`);
    const unknown = Object.keys(file).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new UsageError(`config file ${path} has unknown keys: ${unknown.join(", ")} (known: ${known.join(", ")})`);
    return new Settings(flags, file as Record<string, unknown>);
  }

  /** A string setting: flag, then env vars, then config file, then fallback. */
  get(name: string, env: readonly string[], fallback?: string): string | undefined {
    const flag = this.flags[name];
    if (typeof flag === "string") return flag;
    for (const e of env) {
      const v = process.env[e];
      if (v !== undefined && v !== "") return v;
    }
    const fromFile = this.file[name];
    if (typeof fromFile === "string" || typeof fromFile === "number") return String(fromFile);
    if (fromFile !== undefined) throw new UsageError(`config key ${name} must be a string or a number`);
    return fallback;
  }

  /** A list setting (repeatable flag, comma-separated env var, or a JSON array in the file). */
  list(name: string, env: string): string[] {
    const flag = this.flags[name];
    if (Array.isArray(flag)) return flag as string[];
    const v = process.env[env];
    if (v !== undefined && v !== "") return v.split(",");
    const fromFile = this.file[name];
    if (fromFile === undefined) return [];
    if (!Array.isArray(fromFile) || !fromFile.every((x) => typeof x === "string")) throw new UsageError(`config key ${name} must be a list of strings`);
    return fromFile as string[];
  }
}

/**
 * The cluster's name (`--cluster`, `SHOAL_CLUSTER`, config "cluster"; default "shoal"), checked
 * here so a bad one is a usage error that says so, not a NATS error about a subject or bucket.
 */
export function clusterSetting(s: Settings): string {
  const name = s.get("cluster", ["SHOAL_CLUSTER"], "shoal")!;
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new UsageError(
      `invalid cluster name ${JSON.stringify(name)}: use 1-64 letters, digits, "_" or "-", starting with a letter or digit ` +
        "(the name becomes part of NATS subjects, stream and bucket names)",
    );
  }
  return name;
}

/** Flags every command that connects to NATS takes. */
export const connectionFlags = {
  nats: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  token: { type: "string" },
  creds: { type: "string" },
  "nkey-seed": { type: "string" },
  "tls-ca": { type: "string" },
  "inbox-prefix": { type: "string" },
  config: { type: "string" },
} as const;

export const connectionHelp = `  --nats URL        NATS server(s), comma-separated      (env SHOAL_NATS_URL, NATS_URL; default nats://127.0.0.1:4222)
  --user U / --password P   NATS user and password     (env SHOAL_NATS_USER, SHOAL_NATS_PASSWORD)
  --token T         NATS token                           (env SHOAL_NATS_TOKEN)
  --creds FILE      NATS credentials file (JWT + nkey)   (env SHOAL_NATS_CREDS)
  --nkey-seed FILE  file holding a user nkey seed (SU…)  (env SHOAL_NATS_NKEY)
  --tls-ca FILE     CA to verify the server's TLS certificate (env SHOAL_NATS_CA)
  --inbox-prefix P  reply subjects under P.> instead of _INBOX.> (env SHOAL_NATS_INBOX_PREFIX)
  --config FILE     JSON file of these settings, keys as the flag names (env SHOAL_CONFIG)`;

/** The NATS URL and credentials, from flags, env or the config file. */
export function connectionSettings(s: Settings): { url: string; auth: NatsAuth } {
  const auth: NatsAuth = {
    user: s.get("user", ["SHOAL_NATS_USER"]),
    password: s.get("password", ["SHOAL_NATS_PASSWORD"]),
    token: s.get("token", ["SHOAL_NATS_TOKEN"]),
    creds: s.get("creds", ["SHOAL_NATS_CREDS"]),
    nkeySeed: s.get("nkey-seed", ["SHOAL_NATS_NKEY"]),
    tlsCa: s.get("tls-ca", ["SHOAL_NATS_CA"]),
    inboxPrefix: s.get("inbox-prefix", ["SHOAL_NATS_INBOX_PREFIX"]),
  };
  if (auth.password !== undefined && auth.user === undefined) throw new UsageError("--password needs --user");
  if (auth.creds !== undefined && auth.nkeySeed !== undefined) throw new UsageError("--creds and --nkey-seed cannot be used together");
  if (auth.inboxPrefix !== undefined && !/^[^\s*>.]+(\.[^\s*>.]+)*$/.test(auth.inboxPrefix)) {
    throw new UsageError(`--inbox-prefix must be a subject without wildcards, got ${JSON.stringify(auth.inboxPrefix)}`);
  }
  return { url: s.get("nats", ["SHOAL_NATS_URL", "NATS_URL"], "nats://127.0.0.1:4222")!, auth };
}

export interface NatsAuth {
  user?: string;
  password?: string;
  token?: string;
  /** A credentials file (JWT + nkey seed), for servers in operator (JWT) mode. */
  creds?: string;
  /** A file holding a user nkey seed, for servers listing users by `nkey`. */
  nkeySeed?: string;
  tlsCa?: string;
  /** Prefix of this connection's reply subjects (nats.js `inboxPrefix`); default `_INBOX`. */
  inboxPrefix?: string;
}
