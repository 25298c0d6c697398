/** Small DOM helpers the dashboard's modules share. */

/** The page's element `#id`; throws if index.html lost it (a broken page, not a runtime state). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from the page`);
  return found as T;
}

/** A new element with an optional class and text (always set as text, never parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string | null, text?: unknown): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/** Sets the text of `e`, touching the DOM only when it changes (no needless relayout). */
export function setNodeText(e: Element, v: unknown): void {
  const s = String(v);
  if (e.textContent !== s) e.textContent = s;
}

/** {@link setNodeText} on `#id`. */
export function setText(id: string, v: unknown): void {
  setNodeText(byId(id), v);
}

/** Replays the CSS animation of class `cls` on `e`. */
export function restart(e: HTMLElement, cls: string): void {
  e.classList.remove(cls);
  void e.offsetWidth; // forces a style flush, so re-adding the class starts the animation again
  e.classList.add(cls);
}

/** A finite number (what the page shows; anything else shows as a dash). */
export const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Node ids in natural order: n2 before n10. */
export const byNodeId = (a: string, b: string): number => a.localeCompare(b, undefined, { numeric: true });

/** `at` (ms since the epoch, else now) as local HH:MM:SS.mmm. */
export function clock(at: unknown): string {
  const d = new Date(isNum(at) ? at : Date.now());
  const p = (n: number, w: number) => String(n).padStart(w, "0");
  return `${p(d.getHours(), 2)}:${p(d.getMinutes(), 2)}:${p(d.getSeconds(), 2)}.${p(d.getMilliseconds(), 3)}`;
}
