/**
 * The live dashboard a node serves on `GET /` (index.html loads this module). It polls
 * `cluster` (the node's `GET /cluster`) every second and listens to `events` (server-sent
 * cluster events) for the feed and the animations. Both URLs are relative to the page, so the
 * dashboard also works behind a reverse proxy that serves the node under a path prefix.
 *
 * Stable hooks for tests and scripts:
 * - `[data-node="<id>"]` one column per node, sorted by id, with `data-state`; inside it
 *   `[data-field="state" | "shards" | "actors" | "migrations" | "moves"]`;
 * - `[data-leader]` the leader badge (on one column at most);
 * - `#leader`, `#epoch`, `#map-version`, `#node-count`, `#conn[data-status]` in the header;
 * - `#events > li[data-type]` the feed, newest first, with `data-by` (the node that said it);
 *   a map is one row, `li[data-type="map.published"][data-version]`, with its moves folded in
 *   as `li[data-type="migration"]` carrying `data-shard`, `data-from`, `data-to` and
 *   `data-phase` (see feed.ts);
 * - `#request-rows tr[data-request-type]` client requests per actor type (requests.ts);
 * - `#shard-rows tr[data-shard]` and `#actor-rows tr[data-actor-type][data-actor-id]` the
 *   leader's busiest shards and hottest actors, `data-hot` while hot (load.ts);
 * - `#group-rows tr[data-group]` and `#pin-rows tr[data-pin-type][data-pin-tenant]` role
 *   groups and tenant pins (placement.ts);
 * - `#projection-rows tr[data-projection][data-build][data-role]` one row per build of each
 *   projection, its cells `[data-field]` and its partitions `[data-partition][data-owner]`
 *   (`data-stopped` when stopped); see projections.ts.
 *
 * The event stream starts with the node's recent history (events named `history`: shown in
 * the feed, the columns' moves and the chart, without animations), then goes live; a
 * reconnecting stream gets only what it missed (its `Last-Event-ID`).
 */
import { NodeColumns } from "./columns.js";
import { byId, isNum, setText } from "./dom.js";
import { pct, perSec } from "./format.js";
import { EventFeed } from "./feed.js";
import { LoadPanel } from "./load.js";
import { PlacementPanel } from "./placement.js";
import { ProjectionPanel } from "./projections.js";
import { MigrationRate } from "./rate.js";
import { RequestPanel } from "./requests.js";
import { asEvent, type ClusterEvent, readCluster } from "./wire.js";

const POLL_MS = 1000;
const POLL_TIMEOUT_MS = 3000;

const columns = new NodeColumns(byId("nodes"), byId("dist"));
const feed = new EventFeed(byId("events"));
const rate = new MigrationRate();
const color = (id: string) => columns.colorOf(id);
const projections = new ProjectionPanel(byId("projection-rows"), byId("projections-empty"), color);
const requests = new RequestPanel(byId("request-rows"), byId("requests-empty"), color);
const load = new LoadPanel(byId("shard-rows"), byId("actor-rows"), byId("shards-empty"), byId("actors-empty"), color);
const placement = new PlacementPanel(byId("group-rows"), byId("pin-rows"), byId("placement-empty"), color);

let pollOk = false;
let everOk = false;
let pollError = "";
let sseOpen = false;
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight = false;
let again = false;

function render(data: unknown): void {
  const picture = readCluster(data);
  const { rows, leader, epoch, mapVersion, builds, at } = picture;
  const sum = (k: "shards" | "actors" | "migrations") => [...rows.values()].reduce((n, r) => n + (isNum(r[k]) ? r[k] : 0), 0);
  const total = sum("shards");
  const moving = sum("migrations");
  setText("leader", leader ?? "none");
  setText("epoch", isNum(epoch) ? epoch : "—");
  setText("map-version", isNum(mapVersion) ? `v${mapVersion}` : "—");
  setText("node-count", rows.size);
  setText("shard-total", total);
  setText("actor-total", sum("actors"));
  setText("moving", moving);
  byId("moving").classList.toggle("hot", moving > 0);
  columns.render(rows, leader, total);
  byId("empty").hidden = rows.size > 0;
  projections.render(builds, at ?? Date.now()); // after the columns: its partitions take their owners' colours
  setText("projection-count", new Set(builds.map((b) => b.projection)).size);
  requests.render(picture.requests);
  setText("request-total", picture.requests.total ? `${perSec(picture.requests.total.perSec)} · ${pct(picture.requests.total.errorRatio)} errors` : "");
  load.render(picture.load);
  placement.render(picture.groups, picture.pins);
}

/** An event as it happens (`replayed`: from the node's history, shown without animations). */
function onEvent(e: ClusterEvent, replayed: boolean): void {
  feed.add(e, replayed);
  if (e.type !== "migration") return replayed ? undefined : schedule(50); // members, leaders and maps change the columns: refresh now
  const failed = e.phase === "failed";
  const arrived = typeof e.to === "string";
  columns.remember(e.from, { dir: "out", shard: e.shard, peer: e.to, failed, fresh: !replayed });
  if (arrived) columns.remember(e.to, { dir: "in", shard: e.shard, peer: e.from, failed, fresh: !replayed });
  if (replayed) return rate.record(failed, isNum(e.at) ? Date.now() - e.at : Number.POSITIVE_INFINITY);
  columns.flash(e.from, failed ? "flash-fail" : "flash-out");
  if (arrived) columns.flash(e.to, failed ? "flash-fail" : "flash-in");
  if (!failed && arrived) columns.fly(e.from, e.to, e.shard);
  rate.record(failed);
  schedule(250);
}

function updateConn(): void {
  const status = !pollOk ? (everOk ? "offline" : "connecting") : sseOpen ? "live" : "polling";
  const conn = byId("conn");
  conn.dataset.status = status;
  const label = status === "polling" ? "polling · events reconnecting" : status === "offline" ? `offline · ${pollError}` : status;
  const labelEl = conn.querySelector(".label");
  if (labelEl) labelEl.textContent = label;
  document.body.classList.toggle("stale", !pollOk && everOk);
}

function schedule(ms: number): void {
  if (inflight) {
    again = true;
    return;
  }
  clearTimeout(timer);
  timer = setTimeout(() => void poll(), ms);
}

async function poll(): Promise<void> {
  inflight = true;
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), POLL_TIMEOUT_MS);
  try {
    const r = await fetch("cluster", { cache: "no-store", signal: ctl.signal });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    render(await r.json());
    pollOk = everOk = true;
  } catch (err) {
    pollOk = false;
    pollError = err instanceof Error ? (err.name === "AbortError" ? "no answer" : err.message) : String(err);
  } finally {
    clearTimeout(t);
    inflight = false;
    updateConn();
    const soon = again;
    again = false;
    schedule(soon ? 50 : POLL_MS); // an event asked for a refresh while this poll ran
  }
}

if (typeof EventSource === "function") {
  const es = new EventSource("events");
  es.onopen = () => {
    sseOpen = true;
    updateConn();
  };
  es.onerror = () => {
    sseOpen = false;
    updateConn();
  };
  const handle = (replayed: boolean) => (m: MessageEvent<string>) => {
    let e: ClusterEvent | undefined;
    try {
      e = asEvent(JSON.parse(m.data));
    } catch {
      return;
    }
    if (e) onEvent(e, replayed);
  };
  es.onmessage = handle(false);
  es.addEventListener("history", handle(true));
}
setInterval(() => rate.tick(), 1000);
rate.render();
void poll();
