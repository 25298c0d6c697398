/**
 * Everything local-nats spawns or creates (nats-server and `shoal node` children, temp dirs),
 * so that a process that exits or is signalled, a failing test run included, leaves no server,
 * node or store behind.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Registry {
  children: Set<ChildProcess>;
  tempDirs: Set<string>;
  hooked: boolean;
}

// On globalThis: this module may be loaded twice (src and dist, or once per test file), and two
// copies of the signal hook would each think the other handles the signal.
const REGISTRY = Symbol.for("shoal.local-nats.processes");
const shared = globalThis as Record<symbol, unknown>;
shared[REGISTRY] ??= { children: new Set(), tempDirs: new Set(), hooked: false };
const registry = shared[REGISTRY] as Registry;
const { children, tempDirs } = registry;

function killAll(): void {
  for (const c of children) c.kill("SIGKILL");
  for (const d of tempDirs) {
    try {
      // A just-SIGKILLed server may still be writing for a moment: retry ENOTEMPTY.
      rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      // best effort
    }
  }
}

function hookExit(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAll();
      // Alone, our listener would swallow the signal; re-raise it so the default (exit) happens.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/**
 * Registers a child process: it is SIGKILLed if this process exits, or gets SIGINT, SIGTERM or
 * SIGHUP, before the child has exited. Use it for any helper process a test or tool spawns.
 */
export function trackChild(child: ChildProcess): void {
  hookExit();
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/**
 * A fresh temp dir (`$TMPDIR/shoal-nats-*`), removed on exit or signal unless
 * {@link removeTempDir} got to it first.
 */
export function makeTempDir(): string {
  hookExit();
  // Sync, so no crash can fall between creating the dir and registering it.
  const dir = mkdtempSync(join(tmpdir(), "shoal-nats-"));
  tempDirs.add(dir);
  return dir;
}

/** Removes a dir from {@link makeTempDir} now, and forgets it. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}
