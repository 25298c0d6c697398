import { el, isNum, setNodeText } from "./dom.js";
import { count, ms, pct, perSec } from "./format.js";
import { cell, KeyedRows, nodeTag } from "./keyed.js";
import type { ClusterPicture, Rates, TypeRates } from "./wire.js";

/**
 * The client requests panel (`#request-rows`): what the nodes' ingresses handled over their last
 * 10 s, one row per actor type (`tr[data-request-type]`) and one for all of them
 * (`data-request-type="*"`), with cells `[data-field="rate" | "errors" | "p50" | "p99" | "nodes"]`
 * and, in `nodes`, each node's part (`[data-on=<node>]`, its dot in the node's colour). A type a
 * node does not host counts as `other` there. Latencies run from receipt to reply at the
 * ingress, for asks and sends (tells are answered when taken).
 */
export class RequestPanel {
  private readonly rows: KeyedRows<TypeRates>;

  constructor(
    body: HTMLElement,
    private readonly empty: HTMLElement,
    color: (id: string) => string,
  ) {
    this.rows = new KeyedRows<TypeRates>(
      body,
      (t) => t.type,
      (tr, t) => {
        tr.dataset.requestType = t.type === "all types" ? "*" : t.type;
        if (t.type === "all types") tr.className = "total";
        const name = cell(tr, "type");
        name.textContent = t.type;
        name.title = t.type;
        for (const f of ["rate", "errors", "p50", "p99"]) cell(tr, f, true);
        cell(tr, "nodes");
      },
      (tr, t) => {
        const f = (name: string) => tr.querySelector<HTMLElement>(`[data-field="${name}"]`)!;
        setNodeText(f("rate"), perSec(t.perSec));
        showErrors(f("errors"), t);
        setNodeText(f("p50"), ms(t.p50Ms));
        setNodeText(f("p99"), ms(t.p99Ms));
        const chips = t.nodes.map((n) => {
          const chip = nodeTag(n.node, color);
          chip.append(el("span", "v", perSec(n.perSec)), el("span", "p", ms(n.p99Ms)));
          chip.title = `${n.node}: ${count(n.requests)} requests · ${pct(n.errorRatio)} errors · p50 ${ms(n.p50Ms)} · p99 ${ms(n.p99Ms)}`;
          return chip;
        });
        const nodes = f("nodes");
        const text = chips.map((c) => c.title).join("|");
        if (nodes.dataset.shown !== text) {
          nodes.dataset.shown = text;
          const wrap = el("div", "tags");
          wrap.append(...chips);
          nodes.replaceChildren(wrap);
        }
      },
    );
  }

  render(requests: ClusterPicture["requests"]): void {
    const n = this.rows.render(requests.types.length > 0 && requests.total ? [...requests.types, requests.total] : requests.types);
    this.empty.hidden = n > 0;
  }
}

/** The error ratio, and its most frequent codes beside it. */
function showErrors(td: HTMLElement, r: Rates): void {
  const bad = isNum(r.errors) && r.errors > 0;
  const top = r.codes.slice(0, 2).map(([code, n]) => `${code} ${count(n)}`);
  const text = `${pct(r.errorRatio)}${bad && top.length > 0 ? ` · ${top.join(", ")}` : ""}`;
  setNodeText(td, text);
  td.classList.toggle("bad", bad);
  td.title = r.codes.length === 0 ? "no errors" : r.codes.map(([code, n]) => `${code}: ${count(n)}`).join("\n");
}
