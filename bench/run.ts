import { natsForTests } from "../integration/kit/index.js";
import { eventStoreAppend } from "./event-store.js";
import { failover } from "./failover.js";
import { localAsk } from "./local-ask.js";
import { migration } from "./migration.js";
import { placementQuality } from "./placement.js";
import { remote } from "./remote.js";
import { shardHashRate } from "./shard-hash.js";
import { writeFileSync } from "node:fs";
import { emit, markdownTable, printTable } from "./report.js";

/**
 * `npm run bench`: one JSON object per line, then a table. Every Shoal figure that has a raw
 * NATS counterpart is measured beside it in the same run, on the same server.
 */
async function main(): Promise<void> {
  await using nats = await natsForTests();
  emit({ name: "machine_cores", value: (await import("node:os")).cpus().length, unit: "cores", node: process.version });
  await localAsk();
  await eventStoreAppend(nats.url);
  await remote(nats.url);
  await migration(nats.url);
  await failover(nats.url);
  for (const f of placementQuality()) emit(f);
  emit(shardHashRate());
  printTable();
  // `npm run bench -- --markdown FILE` also writes the table BENCHMARKS.md shows.
  const at = process.argv.indexOf("--markdown");
  if (at > 0 && process.argv[at + 1] !== undefined) writeFileSync(process.argv[at + 1]!, `${markdownTable()}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
