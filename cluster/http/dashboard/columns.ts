import { nodeColor } from "./color.js";
import { byNodeId, el, isNum, restart, setNodeText } from "./dom.js";
import { ms, pct as percent, perSec } from "./format.js";
import type { NodeRow } from "./wire.js";

const MOVES_MAX = 8;
const FLYERS_MAX = 12;

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
  state: HTMLElement;
  roles: HTMLElement;
  traffic: Record<"rps" | "errors" | "p50" | "p99" | "turns", HTMLElement>;
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
 * each node's roles (`[data-field="roles"]`), what its ingress handled over the last 10 s
 * (`[data-field="rps" | "errors" | "p50" | "p99"]`), its actors' turns per second
 * (`[data-field="turns"]`), its recent moves and the animations of shards flying between
 * columns. Each node has the colour of its id ({@link nodeColor}), on every page.
 */
export class NodeColumns {
  private readonly columns = new Map<string, Column>();
  private readonly moves = new Map<string, { recent: Move[]; in: number; out: number }>();
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

  /** The colour of node `id` (its swatch, its part of the shards bar, its dots in the panels). */
  colorOf(id: string): string {
    return nodeColor(id);
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
    const swatch = el("span", "swatch");
    swatch.style.background = nodeColor(id);
    head.append(swatch, el("h3", null, id));
    const state = el("div", "state", "");
    state.dataset.field = "state";
    const roles = el("div", "roles");
    roles.dataset.field = "roles";
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
    const [box, traffic] = trafficBox();
    const stateRow = el("div", "state-row");
    stateRow.append(state, roles);
    root.append(head, stateRow, sRow, bar, share, aRow, mRow, box, mv);
    const col: Column = { el: root, head, state, roles, traffic, shards, actors, migrations, fill, share, movesHead, movesList };
    this.columns.set(id, col);
    this.renderMoves(id);
    return col;
  }

  private remove(id: string, col: Column): void {
    this.columns.delete(id);
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
    const shown = n.roles.join(",");
    if (c.roles.dataset.shown !== shown) {
      c.roles.dataset.shown = shown;
      c.roles.replaceChildren(...n.roles.map((r) => el("span", "role-chip", r)));
    }
    c.roles.hidden = n.roles.length === 0;
    const r = n.reachable ? n.requests : undefined;
    const t = c.traffic;
    setNodeText(t.rps, perSec(r?.perSec));
    setNodeText(t.errors, percent(r?.errorRatio));
    t.errors.classList.toggle("bad", isNum(r?.errors) && r.errors > 0);
    setNodeText(t.p50, ms(r?.p50Ms));
    setNodeText(t.p99, ms(r?.p99Ms));
    setNodeText(t.turns, perSec(n.reachable ? n.turns : undefined));
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
      s.style.background = nodeColor(id);
      setNodeText(s, `${id} ${n}`);
      s.title = `${id}: ${n} of ${total} shards`;
    });
  }
}

/** The node's traffic: client requests its ingress handled (last 10 s) and its actors' turns. */
function trafficBox(): [HTMLElement, Column["traffic"]] {
  const box = el("div", "traffic");
  const cell = (label: string, field: string, hint: string) => {
    const c = el("div");
    c.title = hint;
    const v = el("span", "v", "—");
    v.dataset.field = field;
    c.append(el("span", "k", label), v);
    box.append(c);
    return v;
  };
  const traffic = {
    rps: cell("req/s", "rps", "client requests its ingress handled per second, over the last 10 s"),
    errors: cell("errors", "errors", "of those requests, the share answered with an error"),
    p50: cell("p50", "p50", "median time from receipt to reply at its ingress (asks and sends)"),
    p99: cell("p99", "p99", "99th percentile of the same"),
    turns: cell("turns/s", "turns", "turns its actors ran per second, at its last load report (any caller)"),
  };
  return [box, traffic];
}
