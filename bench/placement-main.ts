/** Prints the placement quality rows as JSON lines: `node dist/bench/placement-main.js`. */
import { pathToFileURL } from "node:url";
import { placementQuality } from "./placement.js";

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of placementQuality()) console.log(JSON.stringify(row));
}
