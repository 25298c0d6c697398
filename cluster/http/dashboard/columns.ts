import { byNodeId, el, isNum, restart, setNodeText } from "./dom.js";
import type { NodeRow } from "./wire.js";

const MOVES_MAX = 8;
const FLYERS_MAX = 12;
/** One colour per node while it is in the cluster; the last is shared once the others are taken. */
const PALETTE = ["#60a5fa", "#2dd4bf", "#c084fc", "#f472b6", "#a3e635", "#fb923c", "#38bdf8", "#fbbf24", "#94a3b8"];
const SHARED_COLOR = PALETTE.length - 1;

/** One shard move as a node's column lists it. */
export interface Move {
  dir: "in" | "out";
  shard: unknown;
  peer: unknown;
  failed: boolean;
  fresh: boolean;
}

interface Column {
  el: HTMLElement;
  head: HTMLElement;
  color: number;
  state: HTMLElement;
  shards: HTMLElement;
  actors: HTMLElement;
  migrations: HTMLElement;
  fill: HTMLElement;
  share: HTMLElement;
  movesHead: HTMLElement;
  movesList: HTMLElement;
}

/**
 * The node columns (`[data-node]`, sorted by id) and the shards-per-node bar above them, with
 * each node's recent moves and the animations of shards flying between columns.
 */
export class NodeColumns {
  private readonly columns = new Map<string, Column>();
  private readonly moves = new Map<string, { recent: Move[]; in: number; out: number }>();
  private readonly colorsUsed = new Set<number>();
  private flyers = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly dist: HTMLElement,
  ) {}

  /** Shows `rows`: adds, updates, reorders and removes columns; `total` is the shards of them all. */
  render(rows: Map<string, NodeRow>, leader: string | null, total: number): string[] {
    const ids = [...rows.keys()].sort(byNodeId);
    for (const [id, col] of this.columns) if (!rows.has(id)) this.remove(id, col);
    let prev: Element | null = null;
    for (const id of ids) {
      const col = this.columns.get(id) ?? this.add(id);
      this.update(col, rows.get(id)!, id === leader, total);
      const want: Element | null = prev ? prev.nextElementSibling : this.container.firstElementChild;
      if (col.el !== want) this.container.insertBefore(col.el, want);
      prev = col.el;
    }
    this.renderDist(ids, rows, total);
    return ids;
  }

  /** The colour of node `id`'s column (its swatch and its part of the shards bar), if it has one. */
  colorOf(id: string): string | undefined {
    const c = this.columns.get(id);
    return c === undefined ? undefined : PALETTE[c.color];
  }

  /** Lists a move in node `id`'s column (a node without a column keeps it for when it gets one). */
  remember(id: unknown, move: Move): void {
    if (typeof id !== "string") return;
    const m = this.moves.get(id) ?? { recent: [], in: 0, out: 0 };
    m.recent.unshift(move);
    m.recent.length = Math.min(m.recent.length, MOVES_MAX);
    if (!move.failed) m[move.dir]++;
    this.moves.set(id, m);
    this.renderMoves(id);
  }

  /** Replays the flash animation `cls` on node `id`'s column. */
  flash(id: unknown, cls: string): void {
    const c = typeof id === "string" ? this.columns.get(id) : undefined;
    if (c) restart(c.el, cls);
  }

  /** Animates a chip for `shard` flying from one column to another. */
  fly(from: unknown, to: unknown, shard: unknown): void {
    const a = typeof from === "string" ? this.columns.get(from) : undefined;
    const b = typeof to === "string" ? this.columns.get(to) : undefined;
    if (!a || !b || this.flyers >= FLYERS_MAX || typeof document.body.animate !== "function") return;
    const ra = a.el.getBoundingClientRect();
    const rb = b.el.getBoundingClientRect();
    const x0 = ra.left + ra.width / 2;
    const y0 = ra.top + 70;
    const dx = rb.left + rb.width / 2 - x0;
    const dy = rb.top + 70 - y0;
    const chip = el("div", "flyer", `#${String(shard)}`);
    chip.style.left = `${x0}px`;
    chip.style.top = `${y0}px`;
    document.body.append(chip);
    const at = (x: number, y: number, s: number) => `translate(calc(-50% + ${x}px), calc(-50% + ${y}px)) scale(${s})`;
    const lift = -40 - Math.abs(dx) * 0.08;
    const anim = chip.animate(
      [
        { transform: at(0, 0, 0.6), opacity: 0 },
        { transform: at(dx * 0.15, dy * 0.15 + lift * 0.6, 1), opacity: 1, offset: 0.15 },
        { transform: at(dx * 0.5, dy * 0.5 + lift, 1), opacity: 1, offset: 0.5 },
        { transform: at(dx, dy, 0.8), opacity: 0 },
      ],
      { duration: 1000, delay: this.flyers * 80, easing: "ease-in-out", fill: "both" },
    );
    this.flyers++;
    anim.onfinish = anim.oncancel = () => {
      chip.remove();
      this.flyers--;
    };
  }

  private add(id: string): Column {
    const root = el("article", "node");
    root.dataset.node = id;
    const head = el("header");
    const color = this.takeColor();
    const swatch = el("span", "swatch");
    swatch.style.background = PALETTE[color]!;
    head.append(swatch, el("h3", null, id));
    const state = el("div", "state", "");
    state.dataset.field = "state";
    const metric = (label: string, field: string): [HTMLElement, HTMLElement] => {
      const row = el("div", "metric");
      const v = el("span", "v", "—");
      v.dataset.field = field;
      row.append(el("span", "k", label), v);
      return [row, v];
    };
    const [sRow, shards] = metric("shards", "shards");
    const [aRow, actors] = metric("actors", "actors");
    const [mRow, migrations] = metric("migrating", "migrations");
    actors.classList.add("small");
    migrations.classList.add("small");
    const bar = el("div", "bar");
    const fill = el("div", "fill");
    bar.append(fill);
    const share = el("div", "share", "");
    const mv = el("div", "moves");
    const movesHead = el("h4");
    const movesList = el("ul");
    movesList.dataset.field = "moves";
    mv.append(movesHead, movesList);
    root.append(head, state, sRow, bar, share, aRow, mRow, mv);
    const col: Column = { el: root, head, color, state, shards, actors, migrations, fill, share, movesHead, movesList };
    this.columns.set(id, col);
    this.renderMoves(id);
    return col;
  }

  private remove(id: string, col: Column): void {
    this.columns.delete(id);
    this.colorsUsed.delete(col.color);
    delete col.el.dataset.node;
    col.el.dataset.goneNode = id;
    col.el.classList.add("leaving");
    setTimeout(() => col.el.remove(), 650); // after the fade-out transition
  }

  private update(c: Column, n: NodeRow, isLeader: boolean, total: number): void {
    const state = typeof n.state === "string" ? n.state : "unknown";
    if (c.el.dataset.state !== state) c.el.dataset.state = state;
    setNodeText(c.state, n.reachable ? state : `${state} · no status`);
    c.el.classList.toggle("unreachable", !n.reachable);
    c.el.classList.toggle("is-leader", isLeader);
    const badge = c.head.querySelector("[data-leader]");
    if (isLeader && !badge) {
      const b = el("span", "badge leader", "leader");
      b.dataset.leader = "";
      c.head.append(b);
    } else if (!isLeader && badge) badge.remove();
    const shards = n.reachable && isNum(n.shards) ? n.shards : null;
    if (shards !== null && c.shards.textContent !== "—" && c.shards.textContent !== String(shards)) restart(c.shards, "bump");
    setNodeText(c.shards, shards === null ? "—" : shards);
    const pct = shards !== null && total > 0 ? (100 * shards) / total : 0;
    c.fill.style.width = `${pct.toFixed(1)}%`;
    setNodeText(c.share, shards === null ? "" : `${pct.toFixed(0)}% of ${total}`);
    setNodeText(c.actors, n.reachable && isNum(n.actors) ? n.actors : "—");
    const m = n.reachable && isNum(n.migrations) ? n.migrations : 0;
    setNodeText(c.migrations, n.reachable ? m : "—");
    c.migrations.classList.toggle("hot", m > 0);
    c.el.classList.toggle("busy", m > 0);
  }

  private renderMoves(id: string): void {
    const c = this.columns.get(id);
    if (!c) return;
    const m = this.moves.get(id) ?? { recent: [], in: 0, out: 0 };
    c.movesHead.replaceChildren(el("span", null, "moves"), el("span", null, `in ${m.in} · out ${m.out}`));
    c.movesList.replaceChildren(
      ...m.recent.map((r) => {
        const text = `#${String(r.shard)}${r.dir === "in" ? " ← " : " → "}${r.peer ? String(r.peer) : "?"}`;
        const chip = el("li", `chip ${r.dir}${r.failed ? " failed" : ""}${r.fresh ? " fresh" : ""}`, text);
        chip.title = `${r.dir === "in" ? "received shard " : "sent shard "}${String(r.shard)}${r.failed ? " (failed)" : ""}`;
        r.fresh = false;
        return chip;
      }),
    );
  }

  private renderDist(ids: string[], rows: Map<string, NodeRow>, total: number): void {
    if (total === 0) return void this.dist.replaceChildren();
    const want = ids.filter((id) => {
      const s = rows.get(id)!.shards;
      return isNum(s) && s > 0;
    });
    const current = Array.from(this.dist.children) as HTMLElement[];
    if (current.length !== want.length || want.some((id, i) => current[i]!.dataset.dist !== id)) {
      this.dist.replaceChildren(
        ...want.map((id) => {
          const s = el("span");
          s.dataset.dist = id;
          return s;
        }),
      );
    }
    const spans = Array.from(this.dist.children) as HTMLElement[];
    want.forEach((id, i) => {
      const s = spans[i]!;
      const n = rows.get(id)!.shards as number;
      s.style.flexGrow = String(n);
      s.style.background = PALETTE[this.columns.get(id)?.color ?? SHARED_COLOR]!;
      setNodeText(s, `${id} ${n}`);
      s.title = `${id}: ${n} of ${total} shards`;
    });
  }

  private takeColor(): number {
    for (let i = 0; i < SHARED_COLOR; i++) {
      if (!this.colorsUsed.has(i)) {
        this.colorsUsed.add(i);
        return i;
      }
    }
    return SHARED_COLOR;
  }
}
