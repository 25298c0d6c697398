import { clock, el, isNum, restart, setNodeText, setText } from "./dom.js";
import { ms } from "./format.js";
import { type ClusterEvent, isObject } from "./wire.js";

/** Rows the feed keeps (a map with its moves is one row). */
const FEED_MAX = 40;
/** Moves listed under one map (all of them are counted). */
const MOVES_LISTED = 200;

/** The feed's class (`k-<kind>`) and label per event type. */
const KINDS: Record<string, string> = {
  "member.joined": "join",
  "member.updated": "state",
  "member.left": "leave",
  "leader.elected": "leader",
  "leader.stepped_down": "leader",
  "map.published": "map",
  migration: "move",
  hot: "hot",
  projection: "proj",
};

/** A map's row and what its moves added up to so far. */
interface MapRow {
  li: HTMLLIElement;
  time: HTMLElement;
  head: HTMLElement;
  bar: HTMLElement;
  list: HTMLOListElement;
  details: HTMLDetailsElement;
  /** The moves the map made (from its `map.published`; null until that is seen). */
  moves: number | null;
  /** Of them, the handoffs between live owners (the others had no owner, nothing to hand over): known when the event listed every move. */
  handoffs: number | null;
  reason: string | null;
  by: string | null;
  completed: number;
  failed: number;
  /** Longest pause of a completed move (ms). */
  longest: number | null;
}

/**
 * The event feed (`#events`), newest first, at most 40 rows, each `li[data-type]` with
 * `data-by` (the node that said it). A map is one row with its moves folded in:
 * `li[data-type="map.published"][data-version]` with `data-moves`, `data-handoffs` (of the
 * moves, those between live nodes: each reports its end), `data-completed`, `data-failed`,
 * `data-longest` (ms) and `data-reason` (`load` for a load-balancing map), and
 * its moves, as their `migration` events arrive, in a `<details>` list of
 * `li[data-type="migration"][data-shard][data-from][data-to][data-phase]`. A move whose map the
 * page never saw (published before the node's history begins) gets a row for its version.
 */
export class EventFeed {
  private count = 0;
  private readonly maps = new Map<number, MapRow>();

  constructor(private readonly list: HTMLElement) {}

  /** Shows `e`; `replayed` (from the node's history): no entry animation. */
  add(e: ClusterEvent, replayed = false): void {
    setText("event-count", ++this.count);
    if (e.type === "map.published" && isVersion(e.version)) return this.map(e, e.version, replayed);
    if (e.type === "migration" && isVersion(e.mapVersion)) return this.move(e, e.mapVersion, replayed);
    const failed = e.type === "migration" && e.phase === "failed";
    const kind = failed ? "fail" : (KINDS[e.type] ?? "other");
    const li = el("li", `k-${kind}`);
    li.dataset.type = e.type;
    if (typeof e.node === "string") li.dataset.by = e.node;
    if (e.type === "migration") moveData(li, e);
    const text = el("span", "text");
    text.append(...describe(e));
    // Leader and migration lines already name the node; the others say who reported them.
    if (typeof e.node === "string" && !/^(leader\.|migration$)/.test(e.type)) text.append(by(e.node));
    li.title = JSON.stringify(e);
    li.append(el("time", null, clock(e.at)), el("span", "kind", failed ? "failed" : kind), text);
    this.prepend(li, replayed);
  }

  private map(e: ClusterEvent, version: number, replayed: boolean): void {
    const row = this.maps.get(version) ?? this.newMap(version, e.at, replayed);
    row.moves = isNum(e.moves) ? e.moves : null;
    // Older leaders do not count the handoffs: then a sample that lists every move tells.
    const sample = Array.isArray(e.sample) ? e.sample : [];
    row.handoffs = isNum(e.handoffs)
      ? e.handoffs
      : sample.length === row.moves
        ? sample.filter((m) => isObject(m) && typeof m.from === "string" && typeof m.to === "string").length
        : null;
    row.reason = typeof e.reason === "string" ? e.reason : null;
    row.by = typeof e.node === "string" ? e.node : null;
    setNodeText(row.time, clock(e.at));
    row.li.title = JSON.stringify(e);
    this.showMap(row, version);
  }

  private move(e: ClusterEvent, version: number, replayed: boolean): void {
    const row = this.maps.get(version) ?? this.newMap(version, e.at, replayed);
    const failed = e.phase === "failed";
    if (failed) row.failed++;
    else {
      row.completed++;
      if (isNum(e.ms)) row.longest = Math.max(row.longest ?? 0, e.ms);
    }
    if (row.list.children.length < MOVES_LISTED) {
      const li = el("li", failed ? "fail" : null);
      moveData(li, e);
      li.append(...describe(e));
      row.list.append(li);
    }
    this.showMap(row, version);
    if (!replayed) restart(row.li, "touched");
  }

  private newMap(version: number, at: unknown, replayed: boolean): MapRow {
    const li = el("li", "k-map");
    li.dataset.type = "map.published";
    li.dataset.version = String(version);
    const time = el("time", null, clock(at));
    const text = el("div", "text");
    const head = el("div", "map-head");
    const bar = el("div", "map-bar");
    bar.append(el("b", "ok"), el("b", "f"));
    const details = el("details");
    const list = el("ol", "map-moves");
    details.append(el("summary", null, "moves"), list);
    text.append(head, bar, details);
    li.append(time, el("span", "kind", "map"), text);
    const row: MapRow = { li, time, head, bar, list, details, moves: null, handoffs: null, reason: null, by: null, completed: 0, failed: 0, longest: null };
    this.maps.set(version, row);
    this.prepend(li, replayed);
    return row;
  }

  /** Writes a map row's line and bar from its counts. */
  private showMap(row: MapRow, version: number): void {
    const { li, moves, handoffs, completed, failed, longest } = row;
    const seen = completed + failed;
    li.dataset.completed = String(completed);
    li.dataset.failed = String(failed);
    if (moves === null) delete li.dataset.moves;
    else li.dataset.moves = String(moves);
    if (handoffs === null) delete li.dataset.handoffs;
    else li.dataset.handoffs = String(handoffs);
    if (longest === null) delete li.dataset.longest;
    else li.dataset.longest = String(longest);
    if (row.reason === null) delete li.dataset.reason;
    else li.dataset.reason = row.reason;
    li.classList.toggle("k-fail", failed > 0);
    const parts: Array<string | Node> = ["map ", el("b", null, `v${version}`)];
    parts.push(el("span", `tag${row.reason === "load" ? " load" : ""}`, row.reason ?? (moves === null ? "published earlier" : "rebalance")));
    parts.push(` · ${moves === null ? `${seen} seen` : plural(moves, "move")}`);
    if (moves !== null && handoffs !== null && handoffs > 0 && handoffs < moves) parts.push(` (${handoffs} to hand off)`);
    if (seen > 0) {
      parts.push(" · ", el("span", "done", `${completed} done`));
      if (failed > 0) parts.push(" · ", el("span", "bad", `${failed} failed`));
      if (longest !== null) parts.push(" · longest pause ", el("b", null, ms(longest)));
    } else if (handoffs === 0 && moves !== null && moves > 0) parts.push(" · nothing to hand off");
    else if (moves !== null && moves > 0) parts.push(" · none done yet");
    if (row.by !== null) parts.push(by(row.by));
    row.head.replaceChildren(...parts);
    const total = Math.max(handoffs ?? moves ?? 0, seen);
    const [ok, bad] = Array.from(row.bar.children) as HTMLElement[];
    if (ok) ok.style.width = `${total === 0 ? 0 : (100 * completed) / total}%`;
    if (bad) bad.style.width = `${total === 0 ? 0 : (100 * failed) / total}%`;
    row.bar.hidden = total === 0;
    row.details.hidden = seen === 0;
    const summary = row.details.firstElementChild;
    if (summary) setNodeText(summary, seen > row.list.children.length ? `moves (first ${row.list.children.length})` : "moves");
  }

  private prepend(li: HTMLLIElement, replayed: boolean): void {
    if (!replayed) li.classList.add("new");
    this.list.prepend(li);
    while (this.list.children.length > FEED_MAX) {
      const last = this.list.lastElementChild as HTMLElement | null;
      if (last === null) break;
      const v = last.dataset.version;
      if (v !== undefined) this.maps.delete(Number(v));
      last.remove();
    }
  }
}

const isVersion = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function moveData(li: HTMLElement, e: ClusterEvent): void {
  li.dataset.type = "migration";
  li.dataset.shard = String(e.shard);
  li.dataset.from = String(e.from);
  li.dataset.to = String(e.to);
  li.dataset.phase = String(e.phase);
  if (typeof e.node === "string") li.dataset.by = e.node;
}

/** One line of text for `e`, its names and numbers in bold. */
function describe(e: ClusterEvent): Array<string | Node> {
  const s = String;
  switch (e.type) {
    case "member.joined":
      return [b(e.member), ` joined (${s(e.state)})`];
    case "member.updated":
      return [b(e.member), ` is ${s(e.state)}`];
    case "member.left":
      return [b(e.member), " left"];
    case "leader.elected":
      return [b(e.node), ` elected leader · epoch ${s(e.epoch)}`];
    case "leader.stepped_down":
      return [b(e.node), ` stepped down · epoch ${s(e.epoch)}${e.reason ? `: ${s(e.reason)}` : ""}`];
    case "map.published":
      return ["map ", b(`v${s(e.version)}`), ` · ${plural(e.moves, "move")}`];
    case "migration": {
      const head = ["shard ", b(e.shard), " ", b(e.from), " → ", b(e.to ?? "?")];
      if (e.phase === "failed") return [...head, ` failed after ${s(e.ms)} ms${e.reason ? `: ${s(e.reason)}` : ""}`];
      return [...head, ` · ${plural(e.actors, "actor")} · paused ${s(e.ms)} ms${e.tail ? ` · ${s(e.tail)} forwarded` : ""}`];
    }
    case "hot":
      return hot(e);
    case "projection":
      return [b(e.projection), ` b${s(e.build)} ${s(e.phase)}${isNum(e.partition) ? ` · partition ${e.partition}` : ""}${e.error ? `: ${s(e.error)}` : ""}`];
    default:
      return [e.type];
  }
}

/** A `hot` event: what became hot, the first few by name. */
function hot(e: ClusterEvent): Array<string | Node> {
  const actors = Array.isArray(e.actors) ? e.actors : [];
  const shards = Array.isArray(e.shards) ? e.shards : [];
  const name = (a: unknown) => (typeof a === "object" && a !== null ? `${String((a as { type?: unknown }).type)} ${String((a as { id?: unknown }).id)}` : "?");
  const shard = (x: unknown) => (typeof x === "object" && x !== null ? `#${String((x as { shard?: unknown }).shard)}` : "?");
  const out: Array<string | Node> = ["hot: "];
  if (actors.length > 0) out.push(plural(actors.length, "actor"), " ", b(actors.slice(0, 3).map(name).join(", ")));
  if (actors.length > 0 && shards.length > 0) out.push(" · ");
  if (shards.length > 0) out.push(plural(shards.length, "shard"), " ", b(shards.slice(0, 5).map(shard).join(" ")));
  return out;
}

function b(v: unknown): HTMLElement {
  return el("b", null, v);
}

function by(node: string): HTMLElement {
  return el("span", "by", `by ${node}`);
}

function plural(n: unknown, word: string): string {
  return `${String(n)} ${word}${n === 1 ? "" : "s"}`;
}
