import { byId, el, setText } from "./dom.js";

/** Seconds the chart covers. */
const RATE_SECONDS = 90;

/** The "migrations per second" bar chart: one bar per second, completed and failed stacked. */
export class MigrationRate {
  private readonly seconds = Array.from({ length: RATE_SECONDS }, () => ({ ok: 0, failed: 0 }));
  private readonly bars = byId("rate-bars");

  /** Counts one migration in the current second, or `ago` ms before it (a replayed one; older than the chart: not counted). */
  record(failed: boolean, ago = 0): void {
    const at = this.seconds[RATE_SECONDS - 1 - Math.max(0, Math.floor(ago / 1000))];
    if (at === undefined) return;
    if (failed) at.failed++;
    else at.ok++;
    this.render();
  }

  /** Moves the chart one second on (called every second). */
  tick(): void {
    this.seconds.shift();
    this.seconds.push({ ok: 0, failed: 0 });
    this.render();
  }

  render(): void {
    if (this.bars.children.length !== RATE_SECONDS) {
      this.bars.replaceChildren(
        ...this.seconds.map(() => {
          const i = el("i");
          i.append(el("b"), el("b", "f"));
          return i;
        }),
      );
    }
    const perSecond = this.seconds.map((r) => r.ok + r.failed);
    const peak = Math.max(4, ...perSecond);
    this.seconds.forEach((r, i) => {
      const [ok, failed] = Array.from(this.bars.children[i]?.children ?? []) as HTMLElement[];
      if (ok) ok.style.height = `${(100 * r.ok) / peak}%`;
      if (failed) failed.style.height = `${(100 * r.failed) / peak}%`;
    });
    const total = perSecond.reduce((a, b) => a + b, 0);
    setText("rate-total", `${total} moved${total ? ` · peak ${Math.max(...perSecond)}/s` : ""}`);
  }
}
