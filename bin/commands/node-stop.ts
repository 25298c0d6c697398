import type { Logger } from "../../src/log.js";

/** What stops a running `shoal node`: SIGTERM, SIGINT, `POST /admin/drain` ({@link request}). */
export class StopRequests {
  /** Resolves to why the node was asked to stop, the first time it is. */
  readonly reason: Promise<string>;
  private resolve!: (why: string) => void;
  private asked: string | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => this.request(signal);

  constructor(private readonly log: Logger) {
    this.reason = new Promise((resolve) => (this.resolve = resolve));
  }

  /**
   * Starts listening for the signals. Called once the node has started: until then a signal
   * ends the process at once, as it did before.
   */
  listen(): void {
    // Handled on every delivery, not once: a Ctrl-C under npm arrives twice (from the terminal
    // and forwarded by npm), and a second one must not kill a node that is draining.
    process.on("SIGTERM", this.onSignal);
    process.on("SIGINT", this.onSignal);
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
  }
}
