/**
 * Finding a Chromium for browser tests (driven by `playwright-core`, which brings no browser).
 * On Debian: `apt-get install chromium` (or run `.ci/install-browser.sh` as root); elsewhere set
 * `CHROMIUM_PATH` to a Chromium or Chrome binary. Never `npx playwright install`: it downloads a
 * browser from a CDN that CI machines may not reach.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** Where {@link findChromium} looks, after `CHROMIUM_PATH`. */
export const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"] as const;

/** Why a browser test did not run, for its name. */
export const NO_CHROMIUM = "no Chromium (install Debian's chromium, or set CHROMIUM_PATH)";

/** Flags for headless runs in containers and CI: no sandbox (root), no GPU, no network chatter. */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

let found: { path: string | undefined } | undefined;

/**
 * The first of `CHROMIUM_PATH`, /usr/bin/chromium, /usr/bin/chromium-browser that is executable
 * and answers `--version` (so Ubuntu's snap stub without snapd counts as absent); undefined if
 * none. The answer is cached for the process.
 */
export function findChromium(): string | undefined {
  found ??= { path: search() };
  return found.path;
}

function search(): string | undefined {
  const env = process.env.CHROMIUM_PATH;
  const candidates = env ? [env, ...CHROMIUM_PATHS] : [...CHROMIUM_PATHS];
  return candidates.find((p) => executable(p) && runs(p));
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function runs(path: string): boolean {
  const r = spawnSync(path, ["--version"], { timeout: 15_000, stdio: ["ignore", "pipe", "ignore"], encoding: "utf8" });
  return r.status === 0 && /chrom/i.test(r.stdout ?? "");
}
