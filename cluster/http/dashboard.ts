/**
 * The live dashboard a node serves on `GET /` and `GET /dashboard`: one self-contained page
 * (inline CSS and script, nothing external, no build step). It polls `GET /cluster` every second
 * and listens to `GET /events` (server-sent cluster events) for the feed and the animations.
 *
 * Stable hooks for tests and scripts:
 * - `[data-node="<id>"]` one column per node, sorted by id, with `data-state`; inside it
 *   `[data-field="state" | "shards" | "actors" | "migrations" | "moves"]`;
 * - `[data-leader]` the leader badge (on one column at most);
 * - `#leader`, `#epoch`, `#map-version`, `#node-count`, `#conn[data-status]` in the header;
 * - `#events li[data-type]` the feed, newest first, with `data-by` (the node that said it);
 *   migrations also carry `data-shard`, `data-from`, `data-to` and `data-phase`.
 */

/** The page for `cluster` (the name is escaped; everything else comes from the endpoints). */
export function dashboardHtml(cluster: string): string {
  const name = escapeHtml(cluster);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shoal · ${name}</title>
<style>${CSS}</style>
</head>
<body data-cluster="${name}">
<header id="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><span class="product">Shoal</span><h1 id="cluster-name">${name}</h1></div>
  <dl class="stats">
    <div><dt>leader</dt><dd id="leader">—</dd></div>
    <div><dt>epoch</dt><dd id="epoch">—</dd></div>
    <div><dt>map</dt><dd id="map-version">—</dd></div>
    <div><dt>nodes</dt><dd id="node-count">—</dd></div>
    <div><dt>shards</dt><dd id="shard-total">—</dd></div>
    <div><dt>actors</dt><dd id="actor-total">—</dd></div>
    <div><dt>moving</dt><dd id="moving">—</dd></div>
  </dl>
  <div id="conn" data-status="connecting"><span class="dot"></span><span class="label">connecting</span></div>
</header>
<main>
  <section aria-label="nodes">
    <p id="empty">Waiting for the cluster’s status…</p>
    <div id="dist" aria-label="shards per node"></div>
    <div id="nodes"></div>
    <figure id="rate">
      <figcaption><span>migrations per second · last 90 s</span><span id="rate-total">0</span></figcaption>
      <div id="rate-bars"></div>
    </figure>
  </section>
  <aside aria-label="events">
    <h2>Events <span id="event-count">0</span></h2>
    <ol id="events"></ol>
  </aside>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = String.raw`
:root { --bg:#0d1117; --panel:#151b23; --panel2:#1b2330; --line:#2a3441; --text:#dde4ee; --muted:#8794a7;
  --in:#2dd4bf; --out:#f5a524; --fail:#f87171; --lead:#facc15; --join:#60a5fa; --ok:#4ade80;
  --mono: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace; color-scheme: dark; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:14px/1.4 system-ui, "DejaVu Sans", "Liberation Sans", sans-serif; }
#top { display:flex; align-items:center; gap:28px; padding:14px 24px; border-bottom:1px solid var(--line); background:var(--panel); flex-wrap:wrap; }
.brand { display:flex; align-items:center; gap:10px; min-width:0; }
.logo { width:22px; height:22px; border-radius:6px; background:linear-gradient(135deg, var(--in), var(--join)); flex:none; }
.product { color:var(--muted); font-weight:600; letter-spacing:.04em; text-transform:uppercase; font-size:12px; }
h1 { margin:0; font-size:20px; font-weight:650; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; max-width:36ch; }
.stats { display:flex; gap:22px; margin:0; flex-wrap:wrap; } .stats div { display:flex; flex-direction:column; }
dt { color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.06em; }
dd { margin:0; font:600 16px var(--mono); }
#leader { color:var(--lead); }
dd.hot { color:var(--out); }
#conn { margin-left:auto; display:flex; align-items:center; gap:8px; color:var(--muted); font-size:12px; }
#conn .dot { width:9px; height:9px; border-radius:50%; background:var(--muted); }
#conn[data-status="live"] .dot { background:var(--ok); box-shadow:0 0 0 3px rgba(74,222,128,.18); animation:pulse 2s infinite; }
#conn[data-status="polling"] .dot { background:var(--out); } #conn[data-status="offline"] .dot { background:var(--fail); }
#conn[data-status="offline"] { color:var(--fail); }
main { display:grid; grid-template-columns:minmax(0,1fr) 480px; gap:20px; padding:20px 24px; align-items:start; }
@media (max-width: 1000px) { main { grid-template-columns:1fr; } }
#empty { color:var(--muted); margin:8px 0; }
#dist { display:flex; height:26px; border-radius:7px; overflow:hidden; margin-bottom:14px; background:var(--panel2); } #dist:empty { display:none; }
#dist span { flex:0 1 0; min-width:0; display:flex; align-items:center; padding:0 8px; font:600 11px var(--mono); color:#0b0f14;
  white-space:nowrap; overflow:hidden; transition:flex-grow .6s ease; border-right:2px solid var(--bg); }
#dist span:last-child { border-right:0; }
.swatch { width:10px; height:10px; border-radius:3px; flex:none; }
#rate { margin:16px 0 0; background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:10px 14px 12px; }
#rate figcaption { display:flex; justify-content:space-between; color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.06em; margin-bottom:8px; }
#rate-bars { display:flex; align-items:flex-end; gap:2px; height:90px; border-bottom:1px solid var(--line); }
#rate-bars i { flex:1; display:flex; flex-direction:column-reverse; height:100%; }
#rate-bars b { display:block; background:var(--in); border-radius:2px 2px 0 0; }
#rate-bars b.f { background:var(--fail); border-radius:0; }
#nodes { display:grid; grid-template-columns:repeat(auto-fill, minmax(190px, 1fr)); gap:14px; }
.node { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:14px; display:flex; flex-direction:column; gap:10px;
  position:relative; animation:enter .45s ease-out; transition:opacity .6s, transform .6s; }
.node.leaving { opacity:0; transform:scale(.94); }
.node[data-state="draining"] { border-style:dashed; border-color:var(--out); }
.node[data-state="joining"] { border-color:var(--join); }
.node.is-leader::before { content:""; position:absolute; left:-1px; right:-1px; top:-1px; height:3px; border-radius:10px 10px 0 0; background:var(--lead); }
.node.busy { box-shadow:0 0 0 1px var(--out) inset; }
.node.unreachable { opacity:.6; }
.node > header { display:flex; align-items:center; gap:8px; }
.node h3 { margin:0; font:700 18px var(--mono); overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.badge { font-size:10px; font-weight:700; text-transform:uppercase; letter-spacing:.06em; padding:2px 7px; border-radius:999px; }
.badge.leader { background:var(--lead); color:#1a1400; margin-left:auto; }
.state { font-size:12px; display:flex; align-items:center; gap:6px; color:var(--muted); }
.state::before { content:""; width:8px; height:8px; border-radius:50%; background:var(--muted); }
.node[data-state="active"] .state::before { background:var(--ok); } .node[data-state="joining"] .state::before { background:var(--join); }
.node[data-state="draining"] .state::before { background:var(--out); }
.metric { display:flex; justify-content:space-between; align-items:baseline; }
.metric .k { color:var(--muted); font-size:12px; }
.metric .v { font:600 22px var(--mono); }
.metric .v.small { font-size:16px; } .metric .v.hot { color:var(--out); }
.bar { height:8px; border-radius:4px; background:var(--panel2); overflow:hidden; }
.bar .fill { height:100%; width:0; background:linear-gradient(90deg, var(--join), var(--in)); transition:width .6s ease; }
.share { color:var(--muted); font:11px var(--mono); text-align:right; margin-top:-6px; }
.bump { animation:bump .6s ease; }
.moves { border-top:1px solid var(--line); padding-top:8px; }
.moves h4 { white-space:nowrap; gap:8px; margin:0 0 6px; font-size:11px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.06em; display:flex; justify-content:space-between; }
.moves ul { list-style:none; margin:0; padding:0; display:flex; flex-wrap:wrap; gap:4px; min-height:22px; }
.chip { font:11px var(--mono); padding:2px 6px; border-radius:5px; background:var(--panel2); white-space:nowrap; } .chip.fresh { animation:enter .4s ease-out; }
.chip.in { color:var(--in); } .chip.out { color:var(--out); } .chip.failed { color:var(--fail); text-decoration:line-through; }
.flash-in { animation:flashIn 1.1s ease-out; } .flash-out { animation:flashOut 1.1s ease-out; } .flash-fail { animation:flashFail 1.4s ease-out; }
.flyer { position:fixed; z-index:10; pointer-events:none; font:700 11px var(--mono); padding:3px 7px; border-radius:6px;
  background:var(--in); color:#04201c; box-shadow:0 4px 14px rgba(45,212,191,.45); }
aside { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:12px 0 4px; min-width:0; }
aside h2 { margin:0 14px 8px; font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); display:flex; justify-content:space-between; }
#event-count, #rate-total { font:12px var(--mono); }
#events { list-style:none; margin:0; padding:0; max-height:calc(100vh - 150px); overflow:auto; }
#events li { display:grid; grid-template-columns:84px 58px minmax(0,1fr); gap:8px; padding:5px 14px; border-top:1px solid var(--line); font-size:12.5px; align-items:baseline; }
#events li.new { animation:feedIn .8s ease-out; }
#events time { color:var(--muted); font:11px var(--mono); }
.kind { font:700 10px var(--mono); text-transform:uppercase; letter-spacing:.04em; padding:1px 5px; border-radius:4px; text-align:center; background:var(--panel2); }
.k-join .kind { color:var(--join); } .k-leave .kind { color:var(--fail); } .k-state .kind { color:var(--out); }
.k-leader .kind { color:var(--lead); } .k-map .kind { color:#c4b5fd; } .k-move .kind { color:var(--in); } .k-fail .kind { color:var(--fail); }
.text { overflow-wrap:anywhere; }
.text b { font-family:var(--mono); font-weight:600; }
.by { color:var(--muted); font-size:11px; margin-left:6px; }
body.stale #nodes { opacity:.45; filter:grayscale(.6); }
@keyframes enter { from { opacity:0; transform:translateY(6px); } }
@keyframes pulse { 50% { box-shadow:0 0 0 6px rgba(74,222,128,0); } }
@keyframes bump { 30% { color:var(--in); transform:scale(1.08); } }
@keyframes flashIn { from { box-shadow:0 0 0 2px var(--in), 0 0 26px rgba(45,212,191,.55); } }
@keyframes flashOut { from { box-shadow:0 0 0 2px var(--out), 0 0 26px rgba(245,165,36,.5); } }
@keyframes flashFail { from { box-shadow:0 0 0 2px var(--fail), 0 0 26px rgba(248,113,113,.5); } }
@keyframes feedIn { from { background:rgba(45,212,191,.16); } }
`;

// Plain ES2020 in a raw string (no backquotes or dollar-braces inside); values reach the DOM via textContent.
const SCRIPT = String.raw`
"use strict";
(() => {
  const POLL_MS = 1000, POLL_TIMEOUT_MS = 3000, FEED_MAX = 30, MOVES_MAX = 8, FLYERS_MAX = 12;
  const $ = (id) => document.getElementById(id);
  const nodesEl = $("nodes"), feedEl = $("events");
  const columns = new Map();   // node id -> column refs
  const moves = new Map();     // node id -> {recent: [...], in: n, out: n}
  let pollOk = false, everOk = false, pollError = "", sseOpen = false;
  let timer = 0, inflight = false, again = false, flyers = 0, eventCount = 0;

  const byId = (a, b) => a.localeCompare(b, undefined, { numeric: true });
  const isNum = (v) => typeof v === "number" && isFinite(v);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function setNodeText(e, v) { const s = String(v); if (e.textContent !== s) e.textContent = s; }
  const setText = (id, v) => setNodeText($(id), v);
  function restart(e, cls) { e.classList.remove(cls); void e.offsetWidth; e.classList.add(cls); }
  function clock(at) {
    const d = new Date(isNum(at) ? at : Date.now());
    const p = (n, w) => String(n).padStart(w, "0");
    return p(d.getHours(), 2) + ":" + p(d.getMinutes(), 2) + ":" + p(d.getSeconds(), 2) + "." + p(d.getMilliseconds(), 3);
  }

  // ---- status: distribution bar, columns ----
  const PALETTE = ["#60a5fa", "#2dd4bf", "#c084fc", "#f472b6", "#a3e635", "#fb923c", "#38bdf8", "#fbbf24", "#94a3b8"];
  const colorsUsed = new Set();
  function takeColor() {
    for (let i = 0; i < PALETTE.length - 1; i++) if (!colorsUsed.has(i)) { colorsUsed.add(i); return i; }
    return PALETTE.length - 1;
  }
  function renderDist(ids, nodes, total) {
    const dist = $("dist");
    if (total === 0) { dist.replaceChildren(); return; }
    const want = ids.filter((id) => isNum(nodes.get(id).shards) && nodes.get(id).shards > 0);
    if (dist.children.length !== want.length || want.some((id, i) => dist.children[i].dataset.dist !== id)) {
      dist.replaceChildren(...want.map((id) => { const s = el("span"); s.dataset.dist = id; return s; }));
    }
    want.forEach((id, i) => {
      const s = dist.children[i], n = nodes.get(id).shards, col = columns.get(id);
      s.style.flexGrow = String(n);
      s.style.background = PALETTE[col ? col.color : PALETTE.length - 1];
      setNodeText(s, id + " " + n);
      s.title = id + ": " + n + " of " + total + " shards";
    });
  }

  // ---- migrations per second, the last RATE_SECONDS ----
  const RATE_SECONDS = 90;
  const rate = Array.from({ length: RATE_SECONDS }, () => ({ ok: 0, failed: 0 }));
  function tickRate() { rate.shift(); rate.push({ ok: 0, failed: 0 }); renderRate(); }
  function renderRate() {
    const bars = $("rate-bars");
    if (bars.children.length !== RATE_SECONDS) {
      bars.replaceChildren(...rate.map(() => { const i = el("i"); i.append(el("b"), el("b", "f")); return i; }));
    }
    const peak = Math.max(4, ...rate.map((r) => r.ok + r.failed));
    let total = 0;
    rate.forEach((r, i) => {
      const [ok, failed] = bars.children[i].children;
      ok.style.height = (100 * r.ok) / peak + "%";
      failed.style.height = (100 * r.failed) / peak + "%";
      total += r.ok + r.failed;
    });
    setText("rate-total", total + " moved" + (total ? " · peak " + Math.max(...rate.map((r) => r.ok + r.failed)) + "/s" : ""));
  }

  // ---- status: columns ----
  function render(data) {
    if (!data || typeof data !== "object") data = {};
    const statuses = Array.isArray(data && data.nodes) ? data.nodes.filter((s) => s && typeof s.node === "string") : [];
    const nodes = new Map();
    for (const s of statuses) nodes.set(s.node, { id: s.node, state: s.state, shards: s.shards, actors: s.actors, migrations: s.migrations, isLeader: s.isLeader === true, reachable: true });
    // A member that did not answer its status still gets a column, marked as such.
    for (const s of statuses) for (const m of Array.isArray(s.members) ? s.members : []) {
      if (m && typeof m.id === "string" && !nodes.has(m.id)) nodes.set(m.id, { id: m.id, state: m.state, reachable: false });
    }
    for (const id of Array.isArray(data.unreachable) ? data.unreachable : []) {
      if (typeof id === "string" && !nodes.has(id)) nodes.set(id, { id, state: "unknown", reachable: false });
    }
    let leader = typeof data.leader === "string" ? data.leader : null;
    if (leader === null) { const l = statuses.find((s) => s.isLeader === true); leader = l ? l.node : null; }
    const ids = [...nodes.keys()].sort(byId);
    const sum = (k) => ids.reduce((n, id) => n + (isNum(nodes.get(id)[k]) ? nodes.get(id)[k] : 0), 0);
    const total = sum("shards");

    setText("leader", leader === null ? "none" : leader);
    setText("epoch", isNum(data.epoch) ? data.epoch : "—");
    setText("map-version", isNum(data.mapVersion) ? "v" + data.mapVersion : "—");
    setText("node-count", ids.length);
    setText("shard-total", total);
    setText("actor-total", sum("actors"));
    setText("moving", sum("migrations"));
    $("moving").classList.toggle("hot", sum("migrations") > 0);

    for (const [id, col] of columns) if (!nodes.has(id)) removeColumn(id, col);
    let prev = null;
    for (const id of ids) {
      const col = columns.get(id) || addColumn(id);
      updateColumn(col, nodes.get(id), id === leader, total);
      const want = prev ? prev.nextElementSibling : nodesEl.firstElementChild;
      if (col.el !== want) nodesEl.insertBefore(col.el, want);
      prev = col.el;
    }
    $("empty").hidden = ids.length > 0;
    renderDist(ids, nodes, total);
  }

  function addColumn(id) {
    const c = { el: el("article", "node") };
    c.el.dataset.node = id;
    const head = el("header");
    c.color = takeColor();
    const sw = el("span", "swatch");
    sw.style.background = PALETTE[c.color];
    head.append(sw, el("h3", null, id));
    c.head = head;
    c.state = el("div", "state", "");
    c.state.dataset.field = "state";
    const metric = (label, field) => {
      const row = el("div", "metric");
      const v = el("span", "v", "—");
      v.dataset.field = field;
      row.append(el("span", "k", label), v);
      return [row, v];
    };
    const [sRow, sVal] = metric("shards", "shards");
    const [aRow, aVal] = metric("actors", "actors");
    const [mRow, mVal] = metric("migrating", "migrations");
    aVal.classList.add("small"); mVal.classList.add("small");
    c.shards = sVal; c.actors = aVal; c.migrations = mVal;
    const bar = el("div", "bar");
    bar.append((c.fill = el("div", "fill")));
    c.share = el("div", "share", "");
    const mv = el("div", "moves");
    mv.append((c.movesHead = el("h4")), (c.movesList = el("ul")));
    c.movesList.dataset.field = "moves";
    c.el.append(head, c.state, sRow, bar, c.share, aRow, mRow, mv);
    columns.set(id, c);
    renderMoves(id);
    return c;
  }

  function removeColumn(id, col) {
    columns.delete(id);
    colorsUsed.delete(col.color);
    delete col.el.dataset.node;
    col.el.dataset.goneNode = id;
    col.el.classList.add("leaving");
    setTimeout(() => col.el.remove(), 650);
  }

  function updateColumn(c, n, isLeader, total) {
    const state = typeof n.state === "string" ? n.state : "unknown";
    if (c.el.dataset.state !== state) c.el.dataset.state = state;
    setNodeText(c.state, n.reachable ? state : state + " · no status");
    c.el.classList.toggle("unreachable", !n.reachable);
    c.el.classList.toggle("is-leader", isLeader);
    let badge = c.head.querySelector("[data-leader]");
    if (isLeader && !badge) {
      badge = el("span", "badge leader", "leader");
      badge.dataset.leader = "";
      c.head.append(badge);
    } else if (!isLeader && badge) badge.remove();
    const shards = n.reachable && isNum(n.shards) ? n.shards : null;
    if (shards !== null && c.shards.textContent !== "—" && c.shards.textContent !== String(shards)) restart(c.shards, "bump");
    setNodeText(c.shards, shards === null ? "—" : shards);
    const pct = shards !== null && total > 0 ? (100 * shards) / total : 0;
    c.fill.style.width = pct.toFixed(1) + "%";
    setNodeText(c.share, shards === null ? "" : pct.toFixed(0) + "% of " + total);
    setNodeText(c.actors, n.reachable && isNum(n.actors) ? n.actors : "—");
    const m = n.reachable && isNum(n.migrations) ? n.migrations : 0;
    setNodeText(c.migrations, n.reachable ? m : "—");
    c.migrations.classList.toggle("hot", m > 0);
    c.el.classList.toggle("busy", m > 0);
  }
  function renderMoves(id) {
    const c = columns.get(id);
    if (!c) return;
    const m = moves.get(id) || { recent: [], in: 0, out: 0 };
    c.movesHead.replaceChildren(el("span", null, "moves"), el("span", null, "in " + m.in + " · out " + m.out));
    c.movesList.replaceChildren(...m.recent.map((r) => {
      const chip = el("li", "chip " + r.dir + (r.failed ? " failed" : "") + (r.fresh ? " fresh" : ""), "#" + r.shard + (r.dir === "in" ? " ← " : " → ") + (r.peer || "?"));
      chip.title = (r.dir === "in" ? "received shard " : "sent shard ") + r.shard + (r.failed ? " (failed)" : "");
      r.fresh = false;
      return chip;
    }));
  }

  // ---- events: feed and migrations ----
  function remember(id, entry) {
    if (typeof id !== "string") return;
    const m = moves.get(id) || { recent: [], in: 0, out: 0 };
    m.recent.unshift(entry);
    m.recent.length = Math.min(m.recent.length, MOVES_MAX);
    if (!entry.failed) m[entry.dir]++;
    moves.set(id, m);
    renderMoves(id);
  }

  function flash(id, cls) { const c = columns.get(id); if (c) restart(c.el, cls); }

  function fly(from, to, shard) {
    const a = columns.get(from), b = columns.get(to);
    if (!a || !b || flyers >= FLYERS_MAX || typeof document.body.animate !== "function") return;
    const ra = a.el.getBoundingClientRect(), rb = b.el.getBoundingClientRect();
    const x0 = ra.left + ra.width / 2, y0 = ra.top + 70, dx = rb.left + rb.width / 2 - x0, dy = rb.top + 70 - y0;
    const chip = el("div", "flyer", "#" + shard);
    chip.style.left = x0 + "px"; chip.style.top = y0 + "px";
    document.body.append(chip);
    const at = (x, y, s) => "translate(calc(-50% + " + x + "px), calc(-50% + " + y + "px)) scale(" + s + ")";
    const lift = -40 - Math.abs(dx) * 0.08;
    const anim = chip.animate([
      { transform: at(0, 0, 0.6), opacity: 0 },
      { transform: at(dx * 0.15, dy * 0.15 + lift * 0.6, 1), opacity: 1, offset: 0.15 },
      { transform: at(dx * 0.5, dy * 0.5 + lift, 1), opacity: 1, offset: 0.5 },
      { transform: at(dx, dy, 0.8), opacity: 0 },
    ], { duration: 1000, delay: flyers * 80, easing: "ease-in-out", fill: "both" });
    flyers++;
    anim.onfinish = anim.oncancel = () => { chip.remove(); flyers--; };
  }

  const KINDS = {
    "member.joined": "join", "member.updated": "state", "member.left": "leave",
    "leader.elected": "leader", "leader.stepped_down": "leader", "map.published": "map", "migration": "move",
  };
  const plural = (n, w) => n + " " + w + (n === 1 ? "" : "s");

  function describe(e) {
    switch (e.type) {
      case "member.joined": return [b(e.member), " joined (" + e.state + ")"];
      case "member.updated": return [b(e.member), " is " + e.state];
      case "member.left": return [b(e.member), " left"];
      case "leader.elected": return [b(e.node), " elected leader · epoch " + e.epoch];
      case "leader.stepped_down": return [b(e.node), " stepped down · epoch " + e.epoch + (e.reason ? ": " + e.reason : "")];
      case "map.published": return ["map ", b("v" + e.version), " · " + plural(e.moves, "move")];
      case "migration": {
        const head = ["shard ", b(e.shard), " ", b(e.from), " → ", b(e.to === null || e.to === undefined ? "?" : e.to)];
        if (e.phase === "failed") return head.concat([" failed after " + e.ms + " ms" + (e.reason ? ": " + e.reason : "")]);
        return head.concat([" · " + plural(e.actors, "actor") + " · paused " + e.ms + " ms" + (e.tail ? " · " + e.tail + " forwarded" : "")]);
      }
      default: return [String(e.type)];
    }
  }
  function b(v) { return el("b", null, v); }

  function addFeed(e) {
    const failed = e.type === "migration" && e.phase === "failed";
    const kind = failed ? "fail" : KINDS[e.type] || "other";
    const li = el("li", "new k-" + kind);
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
    if (typeof e.node === "string" && !/^(leader\.|migration$)/.test(e.type)) text.append(el("span", "by", "by " + e.node));
    li.title = JSON.stringify(e);
    li.append(el("time", null, clock(e.at)), el("span", "kind", failed ? "failed" : kind), text);
    feedEl.prepend(li);
    while (feedEl.children.length > FEED_MAX) feedEl.lastElementChild.remove();
    setText("event-count", ++eventCount);
  }

  function onEvent(e) {
    if (!e || typeof e.type !== "string") return;
    addFeed(e);
    if (e.type === "migration") {
      const failed = e.phase === "failed";
      remember(e.from, { dir: "out", shard: e.shard, peer: e.to, failed, fresh: true });
      if (typeof e.to === "string") remember(e.to, { dir: "in", shard: e.shard, peer: e.from, failed, fresh: true });
      flash(e.from, failed ? "flash-fail" : "flash-out");
      if (typeof e.to === "string") flash(e.to, failed ? "flash-fail" : "flash-in");
      if (!failed && typeof e.to === "string") fly(e.from, e.to, e.shard);
      rate[RATE_SECONDS - 1][failed ? "failed" : "ok"]++;
      renderRate();
      schedule(250);
    } else {
      schedule(50); // members, leaders and maps change the columns: refresh now
    }
  }

  // ---- transport ----
  function updateConn() {
    const status = !pollOk ? (everOk ? "offline" : "connecting") : sseOpen ? "live" : "polling";
    const conn = $("conn");
    conn.dataset.status = status;
    conn.querySelector(".label").textContent =
      status === "live" ? "live" : status === "polling" ? "polling · events reconnecting" : status === "offline" ? "offline · " + pollError : "connecting";
    document.body.classList.toggle("stale", !pollOk && everOk);
  }

  function schedule(ms) {
    if (inflight) { again = true; return; }
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    inflight = true;
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), POLL_TIMEOUT_MS);
    try {
      const r = await fetch("/cluster", { cache: "no-store", signal: ctl.signal });
      if (!r.ok) throw new Error("HTTP " + r.status);
      render(await r.json());
      pollOk = everOk = true;
    } catch (err) {
      pollOk = false;
      pollError = err && err.name === "AbortError" ? "no answer" : String((err && err.message) || err);
    } finally {
      clearTimeout(t);
      inflight = false;
      updateConn();
      const soon = again;
      again = false;
      schedule(soon ? 50 : POLL_MS); // an event asked for a refresh while this one ran
    }
  }

  if (typeof EventSource === "function") {
    const es = new EventSource("/events");
    es.onopen = () => { sseOpen = true; updateConn(); };
    es.onerror = () => { sseOpen = false; updateConn(); };
    es.onmessage = (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch { return; }
      onEvent(e);
    };
  }
  setInterval(tickRate, 1000);
  renderRate();
  poll();
})();
`;
