import { byId, el, isNum, setNodeText, setText } from "./dom.js";
import { count } from "./format.js";
import { cell, KeyedRows, nodeTag } from "./keyed.js";
import type { GroupRow, PinRow } from "./wire.js";

/**
 * The roles and pins panel, from the map of the node serving the page: its role groups
 * (`#group-rows tr[data-group=<roles, comma-separated>]`: the types bound to those roles, the
 * nodes that may host them, the group's shards and how many no node owns — `data-unowned` when
 * any) and its pinned tenants (`#pin-rows tr[data-pin-type][data-pin-tenant]`: where pinned,
 * the shard, the node it runs on, `data-fell-back` when that is not where it is pinned).
 */
export class PlacementPanel {
  private readonly groups: KeyedRows<GroupRow>;
  private readonly pins: KeyedRows<PinRow>;

  constructor(
    groupBody: HTMLElement,
    pinBody: HTMLElement,
    private readonly empty: HTMLElement,
    color: (id: string) => string,
  ) {
    this.groups = new KeyedRows<GroupRow>(
      groupBody,
      (g) => g.roles.join(","),
      (tr, g) => {
        tr.dataset.group = g.roles.join(",");
        cell(tr, "roles").append(...g.roles.map((r) => el("span", "role-chip", r)));
        cell(tr, "types");
        cell(tr, "nodes");
        cell(tr, "shards", true);
      },
      (tr, g) => {
        const f = (name: string) => tr.querySelector<HTMLElement>(`[data-field="${name}"]`)!;
        setNodeText(f("types"), g.types.join(", "));
        const shown = g.nodes.join(",");
        if (f("nodes").dataset.shown !== shown) {
          f("nodes").dataset.shown = shown;
          f("nodes").replaceChildren(
            ...(g.nodes.length === 0 ? [el("span", "warn", "no node has these roles: calls fail")] : g.nodes.map((n) => nodeTag(n, color))),
          );
        }
        const unowned = isNum(g.unowned) && g.unowned > 0;
        if (unowned) tr.dataset.unowned = String(g.unowned);
        else delete tr.dataset.unowned;
        setNodeText(f("shards"), `${count(g.shards)}${unowned ? ` · ${count(g.unowned)} unowned` : ""}`);
        f("shards").classList.toggle("bad", unowned);
      },
    );
    this.pins = new KeyedRows<PinRow>(
      pinBody,
      (p) => `${p.type}\u0000${p.tenant}`,
      (tr, p) => {
        tr.dataset.pinType = p.type;
        tr.dataset.pinTenant = p.tenant;
        const name = cell(tr, "tenant");
        name.append(el("span", "t", p.type), el("span", "id", p.tenant));
        cell(tr, "pinned");
        cell(tr, "shard");
        cell(tr, "owner");
      },
      (tr, p) => {
        const f = (name: string) => tr.querySelector<HTMLElement>(`[data-field="${name}"]`)!;
        setNodeText(f("pinned"), p.node !== null ? `node ${p.node}` : p.role !== null ? `role ${p.role}` : "—");
        setNodeText(f("shard"), isNum(p.shard) ? `#${p.shard}` : "—");
        const owner = f("owner");
        const shown = `${p.owner}|${p.applied}`;
        if (owner.dataset.shown !== shown) {
          owner.dataset.shown = shown;
          owner.replaceChildren(nodeTag(p.owner, color), ...(p.applied ? [] : [el("span", "warn", "fell back")]));
        }
        if (p.applied) delete tr.dataset.fellBack;
        else tr.dataset.fellBack = "";
      },
    );
  }

  render(groups: GroupRow[], pins: PinRow[]): void {
    const g = this.groups.render(groups);
    const p = this.pins.render(pins);
    byId("group-table").hidden = g === 0;
    byId("pin-table").hidden = p === 0;
    this.empty.hidden = g + p > 0;
    setText("group-count", `${g} group${g === 1 ? "" : "s"}`);
    setText("pin-count", `${p} pin${p === 1 ? "" : "s"}`);
  }
}
