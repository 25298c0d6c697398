import { clock, el, setText } from "./dom.js";
import type { ClusterEvent } from "./wire.js";

const FEED_MAX = 30;

/** The feed's class (`k-<kind>`) and label per event type. */
const KINDS: Record<string, string> = {
  "member.joined": "join",
  "member.updated": "state",
  "member.left": "leave",
  "leader.elected": "leader",
  "leader.stepped_down": "leader",
  "map.published": "map",
  migration: "move",
};

/**
 * The event feed (`#events`): newest first, at most 30 entries, each `li[data-type]` with
 * `data-by` (the node that said it) and, for migrations, `data-shard|from|to|phase`.
 */
export class EventFeed {
  private count = 0;

  constructor(private readonly list: HTMLElement) {}

  add(e: ClusterEvent): void {
    const failed = e.type === "migration" && e.phase === "failed";
    const kind = failed ? "fail" : (KINDS[e.type] ?? "other");
    const li = el("li", `new k-${kind}`);
    li.dataset.type = e.type;
    if (typeof e.node === "string") li.dataset.by = e.node;
    if (e.type === "migration") {
      li.dataset.shard = String(e.shard);
      li.dataset.from = String(e.from);
      li.dataset.to = String(e.to);
      li.dataset.phase = String(e.phase);
    }
    const text = el("span", "text");
    text.append(...describe(e));
    // Leader and migration lines already name the node; the others say who reported them.
    if (typeof e.node === "string" && !/^(leader\.|migration$)/.test(e.type)) text.append(el("span", "by", `by ${e.node}`));
    li.title = JSON.stringify(e);
    li.append(el("time", null, clock(e.at)), el("span", "kind", failed ? "failed" : kind), text);
    this.list.prepend(li);
    while (this.list.children.length > FEED_MAX) this.list.lastElementChild?.remove();
    setText("event-count", ++this.count);
  }
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
    default:
      return [e.type];
  }
}

function b(v: unknown): HTMLElement {
  return el("b", null, v);
}

function plural(n: unknown, word: string): string {
  return `${String(n)} ${word}${n === 1 ? "" : "s"}`;
}
