import { el, isNum, setNodeText, setText } from "./dom.js";
import { bytes, count, perSec } from "./format.js";
import { cell, KeyedRows, nodeTag } from "./keyed.js";
import type { ActorRow, LoadPicture, ShardRow } from "./wire.js";

/**
 * The load panel: the leader's busiest shards (`#shard-rows tr[data-shard]`) and hottest actors
 * (`#actor-rows tr[data-actor-type][data-actor-id]`), each with `data-hot` while over its
 * threshold (and not yet cooled below half of it), cells `[data-field]`, and a bar of its
 * turns per second against the busiest's. Rates are the nodes' decayed turns per second, as
 * the leader last heard them (one report interval old at most).
 */
export class LoadPanel {
  private readonly shards: KeyedRows<ShardRow>;
  private readonly actors: KeyedRows<ActorRow>;
  private shardPeak = 0;
  private actorPeak = 0;

  constructor(
    shardBody: HTMLElement,
    actorBody: HTMLElement,
    private readonly shardsEmpty: HTMLElement,
    private readonly actorsEmpty: HTMLElement,
    color: (id: string) => string,
  ) {
    this.shards = new KeyedRows<ShardRow>(
      shardBody,
      (s) => String(s.shard),
      (tr, s) => {
        tr.dataset.shard = String(s.shard);
        cell(tr, "shard").textContent = `#${s.shard}`;
        cell(tr, "node").append(nodeTag(s.node, color));
        cell(tr, "turns", true);
        for (const f of ["actors", "mailbox", "state"]) cell(tr, f, true);
      },
      (tr, s) => {
        const f = (name: string) => tr.querySelector<HTMLElement>(`[data-field="${name}"]`)!;
        hot(tr, s.hot);
        turns(f("turns"), s.turnsPerSec, this.shardPeak, s.hot);
        setNodeText(f("actors"), count(s.actors));
        setNodeText(f("mailbox"), count(s.mailbox));
        f("mailbox").classList.toggle("hot", isNum(s.mailbox) && s.mailbox > 0);
        setNodeText(f("state"), bytes(s.stateBytes));
        retag(f("node"), s.node, color);
      },
    );
    this.actors = new KeyedRows<ActorRow>(
      actorBody,
      (a) => `${a.type}\u0000${a.id}`,
      (tr, a) => {
        tr.dataset.actorType = a.type;
        tr.dataset.actorId = a.id;
        const name = cell(tr, "actor");
        name.append(el("span", "t", a.type), el("span", "id", a.id));
        name.title = `${a.type} ${a.id}`;
        cell(tr, "shard");
        cell(tr, "node").append(nodeTag(a.node, color));
        cell(tr, "turns", true);
      },
      (tr, a) => {
        const f = (name: string) => tr.querySelector<HTMLElement>(`[data-field="${name}"]`)!;
        hot(tr, a.hot);
        setNodeText(f("shard"), isNum(a.shard) ? `#${a.shard}` : "—");
        turns(f("turns"), a.turnsPerSec, this.actorPeak, a.hot);
        retag(f("node"), a.node, color);
      },
    );
  }

  /** Shows the leader's `load`; null: the leader did not say (yet). */
  render(load: LoadPicture | null): void {
    const shards = load?.shards ?? [];
    const actors = load?.actors ?? [];
    this.shardPeak = Math.max(0, ...shards.map((s) => (isNum(s.turnsPerSec) ? s.turnsPerSec : 0)));
    this.actorPeak = Math.max(0, ...actors.map((a) => (isNum(a.turnsPerSec) ? a.turnsPerSec : 0)));
    this.shards.render(shards);
    this.actors.render(actors);
    const why = load === null ? "The leader has not answered with its load yet." : "No load reported yet.";
    setNodeText(this.shardsEmpty, why);
    setNodeText(this.actorsEmpty, why);
    this.shardsEmpty.hidden = shards.length > 0;
    this.actorsEmpty.hidden = actors.length > 0;
    setText("shard-threshold", isNum(load?.shardThreshold) ? `hot ≥ ${perSec(load.shardThreshold)}` : "");
    setText("actor-threshold", isNum(load?.actorThreshold) ? `hot ≥ ${perSec(load.actorThreshold)}` : "");
    setText("hot-count", shards.filter((s) => s.hot).length + actors.filter((a) => a.hot).length);
  }
}

/** Marks a row hot (`data-hot`, class `hot`, a HOT badge first in its first cell) or not. */
function hot(tr: HTMLTableRowElement, on: boolean): void {
  if (on) tr.dataset.hot = "";
  else delete tr.dataset.hot;
  tr.classList.toggle("hot", on);
  const first = tr.firstElementChild;
  const badge = first?.querySelector(".hot-badge");
  if (on && !badge) first?.prepend(el("span", "hot-badge", "hot"));
  else if (!on && badge) badge.remove();
}

/** The turns per second, with a bar against the busiest row's. */
function turns(td: HTMLElement, v: unknown, peak: number, isHot: boolean): void {
  let bar = td.querySelector<HTMLElement>(".meter i");
  let label = td.querySelector<HTMLElement>(".v");
  if (bar === null || label === null) {
    const wrap = el("div", "turns-cell");
    const meter = el("span", "meter");
    bar = el("i");
    meter.append(bar);
    label = el("span", "v");
    wrap.append(meter, label);
    td.replaceChildren(wrap);
  }
  bar.style.width = `${isNum(v) && peak > 0 ? Math.max(2, (100 * v) / peak) : 0}%`;
  bar.classList.toggle("hot", isHot);
  setNodeText(label, perSec(v));
}

/** Re-tags a node cell when the node changed (a shard moved). */
function retag(td: HTMLElement, node: string | null, color: (id: string) => string): void {
  const tag = td.firstElementChild as HTMLElement | null;
  if ((tag?.dataset.on ?? null) !== node) td.replaceChildren(nodeTag(node, color));
}
