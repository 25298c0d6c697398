import type { Logger } from "../../src/log.js";

/** How often a node started by npm checks that its launcher is still there. */
const PARENT_CHECK_MS = 500;

/**
 * What stops a running `shoal node`: SIGTERM, SIGINT, `POST /admin/drain` ({@link request}),
 * and, when npm started it (`npx`, `npm exec`, `npm run`), its parent process going away.
 *
 * The last one is for npm's way of running a bin: `npm exec` spawns `sh -c 'shoal ...'` and
 * forwards SIGTERM/SIGINT to that shell only. Where `sh` is dash (Debian, Ubuntu) the shell
 * runs the node as its child and dies of the signal without passing it on, so the node would
 * be left running with nobody to stop it; it notices its new parent instead, and drains.
 */
export class StopRequests {
  /** Resolves to why the node was asked to stop, the first time it is. */
  readonly reason: Promise<string>;
  private resolve!: (why: string) => void;
  private asked: string | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => this.request(signal);
  private parentCheck: ReturnType<typeof setInterval> | undefined;
  /** The parent when the command started (a shell or npm itself, under npm). */
  private readonly parent = process.ppid;

  constructor(private readonly log: Logger) {
    this.reason = new Promise((resolve) => (this.resolve = resolve));
  }

  /**
   * Starts listening for the signals (and, under npm, watching the parent). Called once the
   * node has started: until then a signal ends the process at once, as it did before.
   */
  listen(): void {
    // Handled on every delivery, not once: a Ctrl-C under npm arrives twice (from the terminal
    // and forwarded by npm), and a second one must not kill a node that is draining.
    process.on("SIGTERM", this.onSignal);
    process.on("SIGINT", this.onSignal);
    if (process.env.npm_lifecycle_event !== undefined) {
      const parent = this.parent;
      this.parentCheck = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(this.parentCheck);
        this.request(`parent process ${parent} exited`);
      }, PARENT_CHECK_MS);
      this.parentCheck.unref();
    }
  }

  /** Asks the node to stop; only the first request counts, the others are logged. */
  request(why: string): void {
    if (this.asked === undefined) {
      this.asked = why;
      this.resolve(why);
    } else {
      this.log.info({ why, stopping: this.asked }, "already stopping (SIGKILL forces an exit)");
    }
  }

  /** Stops listening (the process can then exit on its own). */
  dispose(): void {
    process.off("SIGTERM", this.onSignal);
    process.off("SIGINT", this.onSignal);
    clearInterval(this.parentCheck);
  }
}
