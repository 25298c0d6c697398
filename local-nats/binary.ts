/**
 * Finding a nats-server binary fit for Shoal: env, PATH, the project cache, and as a last
 * resort Debian unstable's package, downloaded and unpacked into the cache without root
 * changes to the system.
 */
import { execFile } from "node:child_process";
import { constants, existsSync } from "node:fs";
import { access, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { natsCacheDir } from "./cache-dir.js";
import { lock } from "./install-lock.js";
import type { NatsBinary } from "./types.js";

const run = promisify(execFile);

/**
 * Oldest accepted nats-server: 2.9/2.10 break compare-and-set on replicated streams and KV
 * (nats-server#4320), and projections commit with atomic batch publishes (2.12).
 */
export const MIN_NATS_VERSION = "2.12.0";

/** What to tell a person who has no usable nats-server. */
export const NO_NATS_SERVER_HELP =
  `no nats-server >= ${MIN_NATS_VERSION} found: install nats-server >= ${MIN_NATS_VERSION} on PATH, ` +
  "or set NATS_SERVER_BIN=/path/to/nats-server, or set NATS_URL=nats://host:4222 to use a running server. " +
  "On Debian/Ubuntu Shoal downloads Debian unstable's nats-server package into its cache by itself " +
  "(needs apt-get, dpkg and /usr/share/keyrings/debian-archive-keyring.gpg); " +
  "by hand: `apt-get download nats-server` from a Debian unstable source, then `dpkg -x nats-server_*.deb DIR` " +
  "and NATS_SERVER_BIN=DIR/usr/sbin/nats-server.";

/** Extracts "2.15.1" from `nats-server --version` output such as "nats-server: v2.15.1". */
export function parseNatsVersion(output: string): string | undefined {
  return /v?(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

/** Numeric comparison of dotted versions: negative, zero or positive like a sort comparator. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when `version` is at least {@link MIN_NATS_VERSION}. */
export function isSupportedNatsVersion(version: string): boolean {
  return compareVersions(version, MIN_NATS_VERSION) >= 0;
}

const notes: string[] = [];

/** Why candidates were skipped or the download failed during the last search (for error messages). */
export function natsSearchNotes(): readonly string[] {
  return notes;
}

function note(line: string): void {
  notes.push(line);
  process.stderr.write(`shoal: ${line}\n`);
}

let memo: { key: string; result: Promise<NatsBinary | undefined> } | undefined;

/**
 * Looks for a nats-server >= 2.12 in order: env `NATS_SERVER_BIN`, `nats-server` on PATH, the
 * cache (`<natsCacheDir()>/<version>/usr/sbin/nats-server`), then downloads Debian unstable's
 * package into the cache when apt-get and dpkg exist. Resolves `undefined` when none can be had
 * (the test kit then tries Docker); the reasons are in {@link natsSearchNotes}. Memoized per
 * environment.
 */
export function findNatsServer(): Promise<NatsBinary | undefined> {
  const env = process.env;
  const key = [env.NATS_SERVER_BIN, env.PATH, env.SHOAL_CACHE_DIR, env.XDG_CACHE_HOME].join("\0");
  if (memo?.key !== key) {
    const result = search().catch((err: unknown) => {
      note(`nats-server search failed: ${(err as Error).message}`);
      return undefined;
    });
    memo = { key, result };
  }
  return memo.result;
}

async function search(): Promise<NatsBinary | undefined> {
  notes.length = 0;
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    const b = await check(fromEnv, "env");
    if (b) return b;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const p = join(dir, "nats-server");
    if (await isExecutable(p)) {
      const b = await check(p, "path");
      if (b) return b;
    }
  }
  const cached = await fromCache(natsCacheDir());
  if (cached) return cached;
  return downloadFromDebian(natsCacheDir());
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Runs `<path> --version`; returns the binary when its version is supported, else notes why not. */
async function check(path: string, source: NatsBinary["source"]): Promise<NatsBinary | undefined> {
  let out: string;
  try {
    const r = await run(path, ["--version"], { timeout: 10_000 });
    out = r.stdout + r.stderr;
  } catch (err) {
    note(`skipping ${path} (from ${source}): cannot run --version: ${(err as Error).message}`);
    return undefined;
  }
  const version = parseNatsVersion(out);
  if (!version) {
    note(`skipping ${path} (from ${source}): unrecognised --version output ${JSON.stringify(out.trim())}`);
    return undefined;
  }
  if (!isSupportedNatsVersion(version)) {
    note(
      `skipping ${path} (from ${source}): v${version} < ${MIN_NATS_VERSION}; ` +
        "compare-and-set is broken on replicated streams and KV before 2.11 (nats-server#4320), and projections need atomic batches (2.12)",
    );
    return undefined;
  }
  return { path, version, source };
}

async function fromCache(cache: string): Promise<NatsBinary | undefined> {
  let entries: string[];
  try {
    entries = await readdir(cache);
  } catch {
    return undefined;
  }
  const versions = entries
    .filter((e) => /^\d+\.\d+\.\d+$/.test(e))
    .sort(compareVersions)
    .reverse();
  for (const v of versions) {
    const p = join(cache, v, "usr", "sbin", "nats-server");
    if (await isExecutable(p)) {
      const b = await check(p, "cache");
      if (b) return b;
    }
  }
  return undefined;
}

const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    if (await isExecutable(join(dir, cmd))) return true;
  }
  return false;
}

/** Downloads and unpacks Debian unstable's nats-server into `cache`, under a lock shared by processes. */
async function downloadFromDebian(cache: string): Promise<NatsBinary | undefined> {
  if (!(await onPath("apt-get")) || !(await onPath("dpkg"))) {
    note("no apt-get/dpkg here, so nats-server cannot be fetched from Debian");
    return undefined;
  }
  if (!existsSync(KEYRING)) {
    note(`cannot fetch nats-server from Debian: ${KEYRING} is missing (package debian-archive-keyring)`);
    return undefined;
  }
  await mkdir(cache, { recursive: true });
  const aptDir = join(cache, "apt");
  const release = await lock(join(cache, ".install.lock"));
  try {
    // Another process may have installed it while we waited for the lock.
    const cached = await fromCache(cache);
    if (cached) return cached;
    process.stderr.write(`shoal: downloading nats-server from Debian unstable into ${cache}\n`);
    const deb = await aptDownload(aptDir);
    const tmp = join(cache, `.extract-${process.pid}-${Date.now()}`);
    try {
      await run("dpkg", ["-x", deb, tmp], { timeout: 60_000 });
      const b = await check(join(tmp, "usr", "sbin", "nats-server"), "debian-download");
      if (!b) return undefined;
      const dest = join(cache, b.version);
      // rename is atomic: readers see either no version dir or a complete one.
      await rename(tmp, dest).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err; // else: already there
      });
      return { path: join(dest, "usr", "sbin", "nats-server"), version: b.version, source: "debian-download" };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    note(`downloading nats-server from Debian unstable failed: ${(err as Error).message}`);
    return undefined;
  } finally {
    // apt's lists are ~30 MB of scratch; nothing reuses them.
    await rm(aptDir, { recursive: true, force: true });
    await release();
  }
}

/** apt-get update + download against a private state dir; returns the .deb path. */
async function aptDownload(apt: string): Promise<string> {
  const dl = join(apt, "dl");
  await rm(dl, { recursive: true, force: true });
  for (const d of ["lists/partial", "cache/archives/partial", "dl"]) await mkdir(join(apt, d), { recursive: true });
  const sources = join(apt, "sources.list");
  await writeFile(sources, `deb [signed-by=${KEYRING}] http://deb.debian.org/debian unstable main\n`);
  const opts = [
    `Dir::Etc::SourceList=${sources}`,
    "Dir::Etc::SourceParts=/dev/null",
    `Dir::State::Lists=${join(apt, "lists")}`,
    `Dir::Cache=${join(apt, "cache")}`,
    "Debug::NoLocking=1",
    // apt drops to the _apt user for downloads when root; that user cannot write into our cache.
    ...(process.getuid?.() === 0 ? ["APT::Sandbox::User=root"] : []),
  ].flatMap((o) => ["-o", o]);
  await aptGet(opts, ["update"], apt);
  await aptGet(opts, ["download", "nats-server"], dl);
  const deb = (await readdir(dl)).find((f) => f.startsWith("nats-server_") && f.endsWith(".deb"));
  if (!deb) throw new Error(`apt-get download left no nats-server_*.deb in ${dl}`);
  return join(dl, deb);
}

async function aptGet(opts: string[], args: string[], cwd: string): Promise<void> {
  try {
    await run("apt-get", [...opts, ...args], { cwd, timeout: 300_000, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim().split("\n").slice(-8).join("\n");
    throw new Error(`apt-get ${args.join(" ")} failed: ${tail || e.message}`);
  }
}
