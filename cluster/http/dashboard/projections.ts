import { clock, el, isNum, setNodeText } from "./dom.js";
import type { BuildRow, PartitionRow } from "./wire.js";

/** The cells of a build's row, by their `data-field`. */
const FIELDS = ["projection", "build", "partitions", "lag", "lag-seconds", "rate", "applied", "dead-letters"] as const;
type Field = (typeof FIELDS)[number];

interface Row {
  tr: HTMLTableRowElement;
  cells: Record<Field, HTMLElement>;
  role: HTMLElement;
  running: HTMLElement;
  chips: HTMLElement;
  /** The row under it that says why partitions stopped (hidden while none did). */
  reasons: HTMLTableRowElement;
  reasonsCell: HTMLTableCellElement;
}

const count = new Intl.NumberFormat("en-US");

/**
 * A partition's rate is measured at its commits, and a partition with nothing to do does not
 * commit: past this long since its last commit it counts as idle (0/s), not at its last rate.
 * A working partition commits several times a second.
 */
const IDLE_AFTER_MS = 5000;

/**
 * The projections panel (`#projection-rows`): one row per build of each projection,
 * `tr[data-projection][data-build][data-role]`, with `data-stopped` (how many of its partitions
 * stopped). Its cells are `[data-field="projection" | "build" | "partitions" | "lag" |
 * "lag-seconds" | "rate" | "applied" | "dead-letters"]`: the worst lag of its partitions (journal
 * batches, and seconds behind), their total rate (of those committing; an idle one counts 0) and
 * events applied, and for the serving build the projection's dead letters waiting. Each partition is a chip `[data-partition]` with `data-owner`
 * (its dot coloured as that node's column) and `data-stopped` once it stopped; a stopped
 * partition's error is on the row beneath, `tr.stop-reason [data-partition]`.
 */
export class ProjectionPanel {
  private readonly rows = new Map<string, Row>();

  constructor(
    private readonly body: HTMLElement,
    private readonly empty: HTMLElement,
    /** The colour of node `id`'s column, if it has one. */
    private readonly colorOf: (id: string) => string | undefined,
  ) {}

  /** Shows `builds` in their order: adds, updates, reorders and removes rows; `now` is the node's time (ms). */
  render(builds: BuildRow[], now: number): void {
    const keys = builds.map((b) => `${b.projection}\u0000${b.build}`);
    for (const [key, row] of this.rows) {
      if (keys.includes(key)) continue;
      this.rows.delete(key);
      row.tr.remove();
      row.reasons.remove();
    }
    let prev: Element | null = null;
    builds.forEach((b, i) => {
      const key = keys[i]!;
      const row = this.rows.get(key) ?? this.add(key, b);
      this.update(row, b, now);
      for (const tr of [row.tr, row.reasons]) {
        const want: Element | null = prev ? prev.nextElementSibling : this.body.firstElementChild;
        if (tr !== want) this.body.insertBefore(tr, want);
        prev = tr;
      }
    });
    this.empty.hidden = builds.length > 0;
  }

  private add(key: string, b: BuildRow): Row {
    const tr = el("tr", "build");
    tr.dataset.projection = b.projection;
    tr.dataset.build = String(b.build);
    const cells = {} as Record<Field, HTMLElement>;
    for (const f of FIELDS) {
      const td = el("td", f === "projection" || f === "build" || f === "partitions" ? f : `n ${f}`);
      td.dataset.field = f;
      cells[f] = td;
      tr.append(td);
    }
    setNodeText(cells.projection, b.projection);
    cells.projection.title = b.projection;
    const role = el("span", "role");
    cells.build.append(el("span", null, `b${b.build}`), role);
    const running = el("span", "running");
    const chips = el("ul", "parts");
    const wrap = el("div", "pcell");
    wrap.append(running, chips);
    cells.partitions.append(wrap);
    const reasons = el("tr", "stop-reason");
    const reasonsCell = el("td");
    reasonsCell.colSpan = FIELDS.length;
    reasons.append(reasonsCell);
    const row: Row = { tr, cells, role, running, chips, reasons, reasonsCell };
    this.rows.set(key, row);
    return row;
  }

  private update(row: Row, b: BuildRow, now: number): void {
    const { tr, cells } = row;
    const parts = b.partitions;
    const stopped = parts.filter((p) => p.stopped !== null);
    if (tr.dataset.role !== b.role) tr.dataset.role = b.role;
    setNodeText(row.role, b.role);
    row.role.className = `role ${b.role}`;
    tr.dataset.stopped = String(stopped.length);
    tr.classList.toggle("stopped", stopped.length > 0);

    const running = parts.filter((p) => p.owner !== null && p.stopped === null).length;
    setNodeText(row.running, `${running}/${parts.length}`);
    row.running.classList.toggle("short", running < parts.length);
    this.renderChips(row.chips, parts, now);

    const lag = worst(parts.map((p) => p.lag));
    setNodeText(cells.lag, lag === null ? "—" : count.format(lag));
    cells.lag.classList.toggle("hot", lag !== null && lag > 0);
    const behind = worst(parts.map((p) => p.lagSeconds));
    setNodeText(cells["lag-seconds"], behind === null ? "—" : `${behind.toFixed(1)} s`);
    cells["lag-seconds"].classList.toggle("hot", behind !== null && behind >= 1);
    const rate = total(parts.map((p) => liveRate(p, now)));
    setNodeText(cells.rate, rate === null ? "—" : `${rate < 10 ? rate.toFixed(1) : count.format(Math.round(rate))}/s`);
    const applied = total(parts.map((p) => p.applied));
    setNodeText(cells.applied, applied === null ? "—" : count.format(applied));
    // Dead letters are the projection's, not a build's: shown once, on the serving build.
    const dead = b.role === "serving" && isNum(b.deadLetters) ? b.deadLetters : null;
    setNodeText(cells["dead-letters"], dead === null ? "" : count.format(dead));
    cells["dead-letters"].classList.toggle("bad", dead !== null && dead > 0);

    row.reasons.hidden = stopped.length === 0;
    row.reasonsCell.replaceChildren(
      ...stopped.map((p) => {
        const line = el("div", "reason");
        line.dataset.partition = String(p.partition);
        const where = `partition ${p.partition}${p.owner === null ? "" : ` on ${p.owner}`}`;
        line.append(el("span", "flag", "stopped"), el("b", null, where), el("span", "error", p.stopped || "(no reason given)"));
        return line;
      }),
    );
  }

  private renderChips(list: HTMLElement, parts: PartitionRow[], now: number): void {
    if (list.children.length !== parts.length) list.replaceChildren(...parts.map(() => el("li", null)));
    parts.forEach((p, i) => {
      const chip = list.children[i] as HTMLElement;
      chip.dataset.partition = String(p.partition);
      if (p.owner === null) delete chip.dataset.owner;
      else chip.dataset.owner = p.owner;
      if (p.stopped === null) delete chip.dataset.stopped;
      else chip.dataset.stopped = "";
      chip.className = `part${p.stopped !== null ? " stopped" : p.owner === null ? " unowned" : ""}`;
      const label = p.stopped !== null ? "STOPPED" : (p.owner ?? "unowned");
      if (chip.textContent !== `${p.partition}${label}`) chip.replaceChildren(el("span", "k", p.partition), el("i", "dot"), label);
      const dot = chip.querySelector<HTMLElement>(".dot");
      const color = p.owner === null ? undefined : this.colorOf(p.owner);
      if (dot) dot.style.background = color ?? "";
      chip.title = describe(p, now);
    });
  }
}

/** The partition's rate now: its last one while it commits, 0 once it is idle or stopped; null if unknown. */
function liveRate(p: PartitionRow, now: number): number | null {
  if (!isNum(p.rate)) return null;
  return p.stopped === null && isNum(p.at) && now - p.at <= IDLE_AFTER_MS ? p.rate : 0;
}

/** The partition's numbers, for its chip's tooltip. */
function describe(p: PartitionRow, now: number): string {
  const n = (v: unknown) => (isNum(v) ? count.format(v) : "—");
  const committed = isNum(p.at) && p.at > 0 ? `committed ${clock(p.at)} (${ago(now - p.at)})` : "never committed";
  return [
    `partition ${p.partition} · ${p.owner === null ? "no owner" : `on ${p.owner}`}`,
    ...(p.stopped === null ? [] : [`STOPPED: ${p.stopped}`]),
    `checkpoint ${n(p.checkpoint)} · lag ${n(p.lag)} batches, ${isNum(p.lagSeconds) ? p.lagSeconds.toFixed(1) : "—"} s`,
    `rate ${isNum(p.rate) ? p.rate : "—"}/s at its last commit · applied ${n(p.applied)} · dead-lettered ${n(p.deadLettered)} · skipped ${n(p.skipped)}`,
    committed,
  ].join("\n");
}

/** `ms` as a short age: "4 s ago", "12 min ago", "3 h ago". */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

/** The largest of the numbers among `vs` (none: null). */
function worst(vs: unknown[]): number | null {
  const nums = vs.filter(isNum);
  return nums.length === 0 ? null : Math.max(...nums);
}

/** The sum of the numbers among `vs` (none: null). */
function total(vs: unknown[]): number | null {
  const nums = vs.filter(isNum);
  return nums.length === 0 ? null : nums.reduce((a, b) => a + b, 0);
}
