import { el } from "./dom.js";

/**
 * Table rows kept in step with a list of items by key: a row is made once per key, updated in
 * place on every render (so nothing flickers or loses its hover), put in the items' order, and
 * removed when its key goes.
 */
export class KeyedRows<T> {
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor(
    private readonly body: HTMLElement,
    private readonly key: (item: T) => string,
    /** Fills a new row (its cells) for `item`. */
    private readonly make: (tr: HTMLTableRowElement, item: T) => void,
    /** Shows `item` in its row. */
    private readonly update: (tr: HTMLTableRowElement, item: T) => void,
  ) {}

  /** Shows `items` in their order; returns how many there are. */
  render(items: readonly T[]): number {
    const keys = items.map(this.key);
    const wanted = new Set(keys);
    for (const [k, tr] of this.rows) {
      if (wanted.has(k)) continue;
      this.rows.delete(k);
      tr.remove();
    }
    let prev: Element | null = null;
    items.forEach((item, i) => {
      const k = keys[i]!;
      let tr = this.rows.get(k);
      if (tr === undefined) {
        tr = el("tr");
        this.make(tr, item);
        this.rows.set(k, tr);
      }
      this.update(tr, item);
      const want: Element | null = prev ? prev.nextElementSibling : this.body.firstElementChild;
      if (tr !== want) this.body.insertBefore(tr, want);
      prev = tr;
    });
    return items.length;
  }
}

/** A new cell `td[data-field=field]` with class `c-<field>` (and `n` for a number), appended to `tr`. */
export function cell(tr: HTMLTableRowElement, field: string, numeric = false): HTMLTableCellElement {
  const td = el("td", numeric ? `n c-${field}` : `c-${field}`);
  td.dataset.field = field;
  tr.append(td);
  return td;
}

/** A node's name with its colour's dot (`[data-on]`), for a table cell. */
export function nodeTag(id: string | null, color: (id: string) => string): HTMLElement {
  const tag = el("span", id === null ? "node-tag none" : "node-tag");
  const dot = el("i", "dot");
  if (id !== null) {
    tag.dataset.on = id;
    dot.style.background = color(id);
  }
  tag.append(dot, id ?? "none");
  return tag;
}
