/**
 * Where Shoal keeps the nats-server it downloads, and where the Shoal package itself is.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The root of the Shoal package this module belongs to: the nearest folder above it whose
 * package.json is named "shoal" (a clone, or `node_modules/shoal` when installed). Undefined
 * if there is none.
 */
export function packageRoot(): string | undefined {
  // Walks up from this module, so it works from both local-nats/ and dist/local-nats/.
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "shoal") return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The folder holding `<version>/usr/sbin/nats-server` trees, in order: `$SHOAL_CACHE_DIR`;
 * `<clone>/.cache/nats-server` when Shoal runs from a clone of its repository; else a per-user
 * cache, `$XDG_CACHE_HOME/shoal/nats-server` (default `~/.cache/shoal/nats-server`).
 * `root` is the Shoal package's folder (default {@link packageRoot}).
 */
export function natsCacheDir(root: string | undefined = packageRoot()): string {
  if (process.env.SHOAL_CACHE_DIR) return process.env.SHOAL_CACHE_DIR;
  // Installed as a dependency, the package lives in node_modules, which installs replace and
  // which is no place for a download: the user's cache outlives it and is shared by projects.
  if (root !== undefined && !root.split(sep).includes("node_modules")) return join(root, ".cache", "nats-server");
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "shoal", "nats-server");
}
