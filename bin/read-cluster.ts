import type { NatsConnection } from "@nats-io/transport-node";
import { checkActorId, checkActorTypeName } from "../src/actor/names.js";
import { UsageError } from "./args.js";
import { connectTo } from "./connect.js";
import { clusterSetting, connectionSettings, Settings } from "./settings.js";

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
