import { parseReplay, type ReplayRequest, replayActorAt, replayProjection } from "../../cluster/replay.js";
import { UsageError } from "../args.js";
import { actorArgs, operatorArgs, readCluster } from "../read-cluster.js";
import { requireStoredMap } from "../../cluster/cluster-status.js";

export const replayUsage = `shoal replay actor <type> <id> [--drop-snapshot]
shoal replay projection <name> --mode checkpoint-only|full-reset [--from SEQ]
  [--json] [--nats URL] [--cluster NAME]

actor       the actor's owner drops it from memory (its turn in flight ends first; messages
            arriving meanwhile wait), drops its snapshot with --drop-snapshot, and loads it
            again from its journal. Prints the node and the version it reloaded at.
projection  checkpoint-only: the serving build's checkpoints go back to --from (default 0,
            the start) and the view is kept: the handler sees those events again (at least
            once). full-reset: a new build from the start, beside the serving one, which
            answers reads until the new one has caught up (see shoal projection rebuild).
The same requests go to a node's POST /admin/replay as JSON:
  {"actor": {"type": "account", "id": "alice"}, "dropSnapshot": true}
  {"projection": "account-balances", "mode": "full-reset"}

  example: shoal replay actor account alice --drop-snapshot`;

/** Runs `shoal replay`. */
export async function runReplay(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, replayUsage, { "drop-snapshot": { type: "boolean" }, mode: { type: "string" }, from: { type: "string" } });
  if (given === undefined) return 0;
  const { values, positionals } = given;
  const [what, ...rest] = positionals;
  let req: ReplayRequest;
  try {
    if (what === "actor") req = parseReplay({ actor: actorArgs(rest, "replay actor"), dropSnapshot: values["drop-snapshot"] === true });
    else if (what === "projection") {
      if (rest.length !== 1) throw new UsageError("replay projection takes <name>");
      const from = values.from === undefined ? undefined : Number(values.from);
      req = parseReplay({ projection: rest[0], mode: values.mode, ...(from === undefined ? {} : { from }) });
    } else throw new UsageError("replay takes actor <type> <id> or projection <name>");
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
  return readCluster(values, "shoal-replay", async (nc, cluster) => {
    let result: unknown;
    if ("projection" in req) result = await replayProjection(nc, cluster, req);
    else {
      result = await replayActorAt(nc, cluster, await requireStoredMap(nc, cluster), req);
    }
    return values.json ? JSON.stringify(result) : describe(result as Record<string, unknown>);
  });
}

function describe(r: Record<string, unknown>): string {
  if ("actor" in r) {
    const a = r.actor as { type: string; id: string };
    return `${a.type}/${a.id} reloaded from its journal on ${r.node} at version ${r.version}${r.droppedSnapshot ? " (snapshot dropped)" : ""}${r.wasActive ? "" : " (it was not in memory)"}`;
  }
  return r.mode === "full-reset"
    ? `${r.projection}: build ${r.build} is being made from the start; reads switch to it once it has caught up`
    : `${r.projection}: build ${r.build}'s checkpoints set back; its partitions handle those events again`;
}
