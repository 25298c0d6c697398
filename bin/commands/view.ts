import { ProjectionView } from "../../src/projection/view-reader.js";
import { UsageError } from "../args.js";
import { operatorArgs, readCluster } from "../read-cluster.js";

export const viewUsage = `shoal view <projection> <key> [--json] [--nats URL] [--cluster NAME]

Reads one entry of a projection's KV view, from the build that serves reads. Prints the
value as JSON; --json prints {key, value, build, revision}. Exits 1 when there is no entry.

  example: shoal view account-balances alice`;

/** Runs `shoal view`. */
export async function runView(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, viewUsage);
  if (given === undefined) return 0;
  const { values, positionals } = given;
  if (positionals.length !== 2) throw new UsageError("view takes <projection> <key>");
  const [name, key] = positionals as [string, string];
  let found = true;
  const code = await readCluster(values, "shoal-view", async (nc, cluster) => {
    const view = await ProjectionView.open(nc, cluster, name);
    const entry = await view.get(key);
    if (entry === undefined) {
      found = false;
      return values.json ? JSON.stringify({ key, value: null, build: (await view.meta()).serving }) : `no entry ${JSON.stringify(key)} in ${name}`;
    }
    return values.json ? JSON.stringify({ key, ...entry }) : JSON.stringify(entry.value, null, 2);
  });
  return code === 0 && !found ? 1 : code;
}
