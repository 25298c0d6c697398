import type { NatsConnection } from "@nats-io/transport-node";
import { checkActorId, checkActorTypeName } from "../src/actor/names.js";
import { parse, UsageError } from "./args.js";
import { connectTo } from "./connect.js";
import { clusterSetting, connectionFlags, connectionSettings, Settings } from "./settings.js";

/**
 * What the operator commands share (`status`, `reminders list`, `inspect`): connect with the
 * command's settings, run `read`, print what it returns. A usage error stays one; any other
 * failure is printed as `UNAVAILABLE: <message>` and exits 1.
 */
export async function readCluster(
  values: Record<string, unknown>,
  name: string,
  read: (nc: NatsConnection, cluster: string) => Promise<string>,
): Promise<number> {
  const settings = Settings.load(values, ["nats", "user", "password", "token", "creds", "tls-ca", "cluster"]);
  const { url, auth } = connectionSettings(settings);
  const cluster = clusterSetting(settings);
  const nc = await connectTo(url, name, auth);
  try {
    console.log(await read(nc, cluster));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    console.error(`UNAVAILABLE: ${(err as Error).message}`);
    return 1;
  } finally {
    await nc.close();
  }
}

/** The `<type> <id>` of a command that names one actor, checked (a usage error otherwise). */
export function actorArgs(positionals: readonly string[], command: string): { type: string; id: string } {
  if (positionals.length !== 2) throw new UsageError(`${command} takes <type> <id>`);
  const [type, id] = positionals as [string, string];
  try {
    return { type: checkActorTypeName(type), id: checkActorId(id) };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * An operator command's arguments: its own `flags`, plus `--json`, the connection flags,
 * `--cluster` and `--help`; undefined once `--help` has printed `usage`.
 */
export function operatorArgs(argv: string[], usage: string, flags: Parameters<typeof parse>[1] = {}): ReturnType<typeof parse> | undefined {
  const parsed = parse(
    argv,
    { json: { type: "boolean" }, ...flags, ...connectionFlags, cluster: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (!parsed.values.help) return parsed;
  console.log(usage);
  return undefined;
}
