// Checks that docs/api (committed) is what TypeDoc generates from the sources now: generates the
// reference into a temporary folder (TypeDoc fails on any undocumented export, see typedoc.json)
// and compares it file by file. `npm run docs:api` regenerates docs/api.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const committed = "docs/api";
const fresh = mkdtempSync(join(tmpdir(), "shoal-api-"));
const files = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
try {
  execFileSync("npx", ["typedoc", "--out", fresh], { stdio: ["ignore", "ignore", "inherit"] });
  const want = new Map(files(fresh).map((f) => [relative(fresh, f), readFileSync(f, "utf8")]));
  let have;
  try {
    have = new Map(files(committed).map((f) => [relative(committed, f), readFileSync(f, "utf8")]));
  } catch {
    have = new Map();
  }
  const stale = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f)).sort();
  if (stale.length > 0) {
    console.error(
      `docs/api is out of date (${stale.length} files differ: ${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ", …" : ""}); run npm run docs:api`,
    );
    process.exit(1);
  }
  console.log(`docs/api is current (${want.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
