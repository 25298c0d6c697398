/**
 * The demo's output: plain lines always; on a TTY also one progress line kept at the bottom
 * and redrawn in place (cleared before every plain line, so the two never mix).
 */
export class DemoOutput {
  private progress = "";
  private readonly tty = process.stdout.isTTY === true;

  line(text = ""): void {
    if (this.tty && this.progress !== "") process.stdout.write("\r\x1b[2K");
    process.stdout.write(`${text}\n`);
    if (this.tty && this.progress !== "") process.stdout.write(this.progress);
  }

  /** Replaces the progress line (TTY only; elsewhere progress is reported at each step). */
  status(text: string): void {
    if (!this.tty) return;
    this.progress = text;
    process.stdout.write(`\r\x1b[2K${text}`);
  }

  /** Removes the progress line. */
  done(): void {
    if (this.tty && this.progress !== "") process.stdout.write("\r\x1b[2K");
    this.progress = "";
  }
}
