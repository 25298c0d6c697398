import { localNats, type LocalNats } from "../local-nats/index.js";
import { actorAsk } from "./actor-ask.js";
import { eventStoreAppend } from "./event-store.js";
import { failover } from "./failover.js";
import { ingress } from "./ingress.js";
import { localAsk } from "./local-ask.js";
import { migration } from "./migration.js";
import { outbox } from "./outbox.js";
import { placementQuality } from "./placement.js";
import { projections } from "./projections.js";
import { remote } from "./remote.js";
import { reminders } from "./reminders.js";
import { shardHashRate } from "./shard-hash.js";
import { skew } from "./skew.js";
import { wireCost } from "./wire-cost.js";
import { writeFileSync } from "node:fs";
import { emit, markdownTable, printTable } from "./report.js";

/** The parts of the bench, in the order they run; `--only a,b` runs some of them. */
const parts: Record<string, (nats: LocalNats) => Promise<void> | void> = {
  local: () => localAsk(),
  store: ({ url }) => eventStoreAppend(url),
  wire: () => wireCost(),
  remote: ({ url, server }) => remote(url, server?.pid),
  ingress: ({ url, server }) => ingress(url, server?.pid),
  actors: async ({ url, server }) => {
    await actorAsk(url, server?.pid);
    await outbox(url, server?.pid);
  },
  migration: ({ url }) => migration(url),
  failover: ({ url }) => failover(url),
  reminders: ({ url }) => reminders(url),
  projections: ({ url, server }) => projections(url, server?.pid),
  skew: ({ url, server }) => skew(url, server?.pid),
  placement: () => {
    for (const f of placementQuality()) emit(f);
    emit(shardHashRate());
  },
};

/**
 * `npm run bench`: one JSON object per line, then a table. Every Shoal figure that has a raw
 * NATS counterpart is measured beside it in the same run, on the same server.
 */
async function main(): Promise<void> {
  const only = flag("--only")?.split(",");
  const unknown = only?.filter((p) => !(p in parts)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown bench part(s) ${unknown.join(", ")}; the parts are ${Object.keys(parts).join(", ")}`);
  await using nats = await localNats();
  emit({ name: "machine_cores", value: (await import("node:os")).cpus().length, unit: "cores", node: process.version });
  for (const [name, run] of Object.entries(parts)) if (only === undefined || only.includes(name)) await run(nats);
  printTable();
  // `npm run bench -- --markdown FILE` also writes the table BENCHMARKS.md shows.
  const file = flag("--markdown");
  if (file !== undefined) writeFileSync(file, `${markdownTable()}\n`);
}

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
