/**
 * A lock shared by processes on one machine, so that parallel test workers or tools download
 * and unpack nats-server into the cache once, not once each.
 */
import { readFileSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

const STALE_LOCK_MS = 10 * 60_000;

/**
 * Takes the lock directory `dir` (mkdir is atomic), waiting while another live process holds
 * it; a lock whose owner died or that is very old is taken over. Resolves to the release.
 */
export async function lock(dir: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, "pid"), String(process.pid));
      return () => rm(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (await isStale(dir)) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the install lock ${dir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function isStale(dir: string): Promise<boolean> {
  try {
    const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
    if (pid > 0) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ESRCH") return true;
      }
    }
    return Date.now() - (await stat(dir)).mtimeMs > STALE_LOCK_MS;
  } catch {
    // No pid file yet: the owner is between mkdir and writeFile, unless it died there long ago.
    try {
      return Date.now() - (await stat(dir)).mtimeMs > 30_000;
    } catch {
      return false; // lock vanished: retry mkdir
    }
  }
}
