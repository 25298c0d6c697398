/**
 * The HTTP interface of real `shoal node --http PORT` processes: health, Prometheus metrics,
 * status, the cluster view, the event stream, the dashboard's files, drain over HTTP, bad
 * requests, and where it listens and who may drain: loopback by default, the admin token.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ClusterView } from "../cluster/http/server.js";
import type { NodeStatus } from "../cluster/status.js";
import { ShoalClient } from "../src/client.js";
import { ShoalError } from "../src/errors.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { waitFor } from "./kit/index.js";
import { freePorts } from "./kit/index.js";

const SHARDS = 64;
const NODE_ARGS = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"];
const METRICS = [
  "shoal_ingress_requests_total",
  "shoal_ingress_duration_seconds",
  "shoal_mailbox_depth",
  "shoal_active_actors",
  "shoal_shards_owned",
  "shoal_migrations_total",
  "shoal_migration_pause_seconds",
  "shoal_event_store_appends_total",
  "shoal_event_store_conflicts_total",
  "shoal_activation_replay_events",
  "shoal_map_version",
  "shoal_is_leader",
  "shoal_turns_per_second",
  "shoal_state_bytes",
  "shoal_hot_shard_turns_per_second",
  "shoal_hot_actor_turns_per_second",
];

let c: TestCluster;
const ports = new Map<string, number>();
const base = (id: string) => `http://127.0.0.1:${ports.get(id)}`;
const get = (id: string, path: string, init?: RequestInit) => fetch(base(id) + path, init);
const getJson = async <T = Record<string, unknown>>(id: string, path: string) => (await (await get(id, path)).json()) as T;
const drain = (id: string, headers: Record<string, string> = {}) => get(id, "/admin/drain", { method: "POST", headers });
/** An address of this machine other machines can reach (not loopback), if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;

function startNode(id: string): void {
  c.start(id, ["--http", String(ports.get(id))]);
}

/** Sum of the samples of `name` whose labels include every pair of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => (m[2] ?? "").includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

/** The server-sent events of `text`: each block's `event` (undefined: a live one), `id` and `data` (parsed). */
function sse(text: string): Array<{ event: string | undefined; id: string; data: Record<string, unknown> }> {
  return text
    .split("\n\n")
    .filter((b) => /^data: /m.test(b))
    .map((b) => {
      const field = (name: string) =>
        b
          .split("\n")
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      return { event: field("event"), id: field("id") ?? "", data: JSON.parse(field("data")!) as Record<string, unknown> };
    });
}

/** Reads `/events` of node `id` until `done(text)` (or `ms`), then hangs up; returns the text. */
async function readEvents(id: string, done: (text: string) => boolean, headers: Record<string, string> = {}, ms = 10_000): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  let text = "";
  try {
    const r = await get(id, "/events", { signal: ac.signal, headers });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    const td = new TextDecoder();
    while (!done(text)) {
      const { done: end, value } = await reader.read();
      if (end) break;
      text += td.decode(value, { stream: true });
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return text;
}

const scrapeAll = (ids: string[]) => Promise.all(ids.map(async (id) => (await get(id, "/metrics")).text()));
const total = (texts: string[], name: string, labels?: Record<string, string>) => texts.reduce((n, t) => n + sample(t, name, labels), 0);

beforeAll(async () => {
  const free = await freePorts(6);
  for (const [i, id] of ["n1", "n2", "n3", "n4", "n5", "n6"].entries()) ports.set(id, free[i]!);
  c = await TestCluster.create(inject("natsUrl"), uniqueCluster("http"), { shards: SHARDS, args: NODE_ARGS });
  for (const id of ["n1", "n2", "n3"]) startNode(id);
  await c.waitStable(["n1", "n2", "n3"], 30_000);
});

afterAll(async () => {
  await c?.close();
});

describe("shoal node --http (real processes, real nats-server)", () => {
  it("answers /healthz 200 on every node of a settled cluster", async () => {
    for (const id of ["n1", "n2", "n3"]) {
      const r = await get(id, "/healthz");
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ ok: true, node: id, state: "active" });
    }
    expect(c.nodes.get("n1")!.logs).toContain('"msg":"http listening"');
  });

  it("serves Prometheus metrics that follow the asks and the cluster's state", async () => {
    const ids = ["n1", "n2", "n3"];
    const before = await scrapeAll(ids);
    const client = new ShoalClient(c.nc, c.name);
    for (let i = 0; i < 20; i++) await client.ask("account", `acct-${i}`, { deposit: { amount: 1, txn: `t-${i}` } });
    await expect(client.ask("account", "acct-0", { withdraw: { amount: 1000, txn: "too-much" } })).rejects.toThrow(ShoalError);
    await expect(client.ask("no-such-type", "x", {})).rejects.toThrow(ShoalError);
    const after = await scrapeAll(ids);
    for (const [i, text] of after.entries()) {
      for (const name of METRICS) expect(text, name).toContain(`# TYPE ${name} `);
      expect(text).toContain(`cluster="${c.name}"`);
      expect(text).toContain(`node="${ids[i]}"`);
      expect(text).toContain("process_cpu_user_seconds_total"); // default metrics, in this registry
    }
    const asked = (t: string[], labels: Record<string, string>) => total(t, "shoal_ingress_requests_total", labels);
    expect(asked(after, { type: "account", outcome: "ok" }) - asked(before, { type: "account", outcome: "ok" })).toBe(20);
    expect(asked(after, { type: "account", outcome: "REJECTED" }) - asked(before, { type: "account", outcome: "REJECTED" })).toBe(1);
    // A type no node hosts is not a label value: it counts as "other".
    expect(asked(after, { type: "other", outcome: "UNKNOWN_ACTOR_TYPE" })).toBeGreaterThanOrEqual(1);
    expect(after.join("\n")).not.toContain("no-such-type");
    expect(
      total(after, "shoal_ingress_duration_seconds_count", { type: "account" }) - total(before, "shoal_ingress_duration_seconds_count", { type: "account" }),
    ).toBe(21);
    expect(
      after.some((t) =>
        /shoal_ingress_duration_seconds_bucket\{[^}]*le="0\.001"[^}]*type="account"|shoal_ingress_duration_seconds_bucket\{[^}]*type="account"[^}]*le="0\.001"/.test(
          t,
        ),
      ),
    ).toBe(true);
    expect(total(after, "shoal_event_store_appends_total") - total(before, "shoal_event_store_appends_total")).toBe(20);
    expect(total(after, "shoal_event_store_conflicts_total")).toBe(0);
    // Each account this test activated was loaded once (its journal empty or short).
    expect(total(after, "shoal_activation_replay_events_count") - total(before, "shoal_activation_replay_events_count")).toBeGreaterThanOrEqual(1);
    expect(total(after, "shoal_shards_owned")).toBe(SHARDS);
    expect(total(after, "shoal_is_leader")).toBe(1);
    expect(total(after, "shoal_active_actors")).toBeGreaterThanOrEqual(20);
    expect(total(after, "shoal_mailbox_depth")).toBe(0);
    const statuses = await c.statuses(ids);
    for (const [i, text] of after.entries()) expect(sample(text, "shoal_map_version")).toBe(statuses.find((s) => s.node === ids[i])!.mapVersion);
    // The same requests in the nodes' statuses (their last 10 s), merged over the cluster by /cluster.
    const view = await getJson<ClusterView>("n2", "/cluster");
    const account = view.requests.types.find((t) => t.type === "account")!;
    expect(account).toMatchObject({ requests: 21, asks: 21, errors: 1, codes: { REJECTED: 1 } });
    expect(account.nodes.reduce((n, x) => n + x.requests, 0)).toBe(21);
    expect(account.perSec).toBeGreaterThan(0);
    expect(account.p50Ms).toBeGreaterThan(0);
    expect(account.p99Ms).toBeGreaterThanOrEqual(account.p50Ms!);
    expect(view.requests.types.find((t) => t.type === "other")).toMatchObject({ errorRatio: 1, codes: { UNKNOWN_ACTOR_TYPE: 1 } });
    expect(JSON.stringify(view.requests)).not.toContain("no-such-type");
    expect(statuses.reduce((n, s) => n + (s.requests?.types.find((t) => t.type === "account")?.requests ?? 0), 0)).toBe(21);
  });

  it("replays an actor on POST /admin/replay from any node, on its owner; bad requests get 400 and change nothing", async () => {
    const replay = (id: string, body: unknown) =>
      get(id, "/admin/replay", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const client = new ShoalClient(c.nc, c.name);
    await client.ask("account", "replayed", { deposit: { amount: 3, txn: "r-1" } });
    for (const id of ["n1", "n2", "n3"]) {
      const r = await replay(id, { actor: { type: "account", id: "replayed" }, dropSnapshot: true });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { node: string; version: number; wasActive: boolean };
      expect(body).toMatchObject({ actor: { type: "account", id: "replayed" }, version: 1 });
      expect(["n1", "n2", "n3"]).toContain(body.node);
    }
    // Reloaded from the journal: the balance is what the events say.
    expect(await client.ask("account", "replayed", { balance: {} })).toMatchObject({ balance: 3, version: 1 });
    for (const bad of [{ actor: { type: "account" } }, { projection: "account-balances", mode: "wipe" }, [1, 2], { nothing: true }]) {
      const r = await replay("n1", bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("BAD_REQUEST");
    }
    const notJson = await get("n1", "/admin/replay", { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect(c.nodes.get("n1")!.running).toBe(true);
    // The built-in projection runs on the nodes: its partitions report their lag.
    const texts = await scrapeAll(["n1", "n2", "n3"]);
    expect(texts.join("\n")).toMatch(/shoal_projection_lag_batches\{[^}]*projection="account-balances"/);
    expect(texts.filter((t) => /shoal_projection_running\{[^}]*\} 1/.test(t)).length).toBeGreaterThanOrEqual(1);
  });

  it("answers /status with what the node says over NATS, its HTTP port in its membership meta", async () => {
    const [http, nats] = await Promise.all([getJson<NodeStatus>("n2", "/status"), c.statuses(["n2"]).then((s) => s[0]!)]);
    // Moment values (active actors, the load reports and their ages, the request rates) may differ between the two reads.
    const stable = (s: NodeStatus) => ({
      ...s,
      actors: 0,
      load: undefined,
      clusterLoad: undefined,
      requests: undefined,
      members: s.members.map((m) => ({ id: m.id, state: m.state, meta: m.meta })),
    });
    expect(stable(http)).toEqual(stable(nats));
    expect(http.members.find((m) => m.id === "n2")!.meta).toEqual({ http: String(ports.get("n2")) });
  });

  it("answers /cluster with the status of every member and the projections", async () => {
    const view = await getJson<ClusterView>("n3", "/cluster");
    const nats = await c.statuses(["n1", "n2", "n3"]);
    expect(view).toMatchObject({ cluster: c.name, leader: nats[0]!.leader, epoch: nats[0]!.epoch, mapVersion: nats[0]!.mapVersion, unreachable: [] });
    expect(view.nodes.map((s) => s.node)).toEqual(["n1", "n2", "n3"]);
    expect(view.nodes.reduce((n, s) => n + s.shards, 0)).toBe(SHARDS);
    expect(Math.abs(view.at - Date.now())).toBeLessThan(5000);
    // The built-in projection, as its buckets say (its partitions may still be being claimed).
    const balances = view.projections.find((p) => p.name === "account-balances");
    expect(balances).toMatchObject({ serving: 1, building: null, deadLetters: 0 });
    expect(balances!.builds.map((b) => [b.build, b.role, b.partitions.length])).toEqual([[1, "serving", 4]]);
    // What the dashboard's panels read: no role groups or pins here, the leader's load.
    expect(view).toMatchObject({ groups: [], pins: [] });
    expect(view.load).toMatchObject({ actorThreshold: 100, shardThreshold: 1000 });
    expect(view.requests.total).toHaveProperty("nodes");
  });

  it("streams cluster events on /events: a map.published when a node joins, and migration metrics follow", async () => {
    const ac = new AbortController();
    const r = await get("n1", "/events", { signal: ac.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = r.body!.getReader();
    const td = new TextDecoder();
    let text = "";
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += td.decode(value, { stream: true });
        if (/"type":"map\.published"/.test(text)) return;
      }
    })();
    await waitFor(() => text.startsWith(": connected"), { message: "the stream never opened" });
    startNode("n4");
    await waitFor(() => /"type":"map\.published"/.test(text), { timeout: 20_000, message: `no map.published on /events:\n${text}` });
    ac.abort();
    await reading.catch(() => undefined);
    const event = sse(text).find((e) => e.data.type === "map.published")!;
    expect(event.data.cluster).toBe(c.name);
    expect(event.id).toMatch(/^[0-9a-f]{8}-\d+$/);

    const ids = ["n1", "n2", "n3", "n4"];
    await c.waitStable(ids, 30_000);
    const texts = await scrapeAll(ids);
    expect(total(texts, "shoal_migrations_total", { role: "source", outcome: "completed" })).toBeGreaterThan(0);
    expect(total(texts, "shoal_migrations_total", { role: "destination", outcome: "completed" })).toBeGreaterThan(0);
    expect(total(texts, "shoal_migration_pause_seconds_count")).toBe(total(texts, "shoal_migrations_total", { role: "source", outcome: "completed" }));
    expect(total(texts, "shoal_shards_owned")).toBe(SHARDS);
    expect(total(texts, "shoal_is_leader")).toBe(1);
    expect((await get("n1", "/healthz")).status).toBe(200); // the server is fine after the client left

    // A client that comes now gets the history first (named `history`): the map it missed is there.
    const late = sse(await readEvents("n1", (t) => /"type":"map\.published"/.test(t)));
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((e) => e.event === "history")).toBe(true);
    expect(late.find((e) => e.data.type === "map.published" && e.data.version === event.data.version)).toBeDefined();
    // Reconnecting with the last id seen: only what followed (here nothing, until the next event); a foreign id: everything.
    const last = late.at(-1)!.id;
    const after = await readEvents("n1", () => false, { "Last-Event-ID": last }, 500);
    expect(after).toMatch(/^: connected/);
    expect(sse(after).filter((e) => e.event === "history")).toEqual([]);
    const all = sse(await readEvents("n1", (t) => sse(t).length >= late.length, { "Last-Event-ID": "0123abcd-7\u00ff<script>" }));
    expect(all.length).toBeGreaterThanOrEqual(late.length);
    const favicon = await get("n1", "/favicon.ico");
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get("content-type")).toBe("image/svg+xml");
  });

  it("answers bad requests with JSON errors and stays up", async () => {
    const unknown = await get("n1", "/nope?x=1");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toHaveProperty("error");
    const wrong = await get("n1", "/admin/drain");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(await wrong.json()).toHaveProperty("error");
    expect((await get("n1", "/status", { method: "DELETE" })).status).toBe(405);
    // Oversized bodies are refused before any route runs: this is not a drain.
    const big = await get("n1", "/admin/drain", { method: "POST", body: "x".repeat(64 * 1024) }).catch(() => undefined);
    if (big !== undefined) expect(big.status).toBe(413);
    for (const garbage of [
      "\x00\x01\x02 garbage \xff\r\n\r\n",
      "GET /\x7f%%zz HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /admin/drain HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    ]) {
      const answer = await raw(ports.get("n1")!, garbage);
      expect(answer).toMatch(/^HTTP\/1\.1 (400|404)/);
    }
    expect((await get("n1", "/healthz")).status).toBe(200);
    expect(c.nodes.get("n1")!.running).toBe(true);
  });

  it("serves the dashboard's page and its files: the cluster's name, no inline code, a strict CSP", async () => {
    const page = await get("n1", "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    const html = await page.text();
    expect(html).toContain(`<h1 id="cluster-name">${c.name}</h1>`);
    expect(html).not.toMatch(/<script>|<style>|\{\{/); // everything external, every placeholder filled
    expect(await (await get("n1", "/dashboard")).text()).toBe(html);
    const script = await get("n1", "/assets/main.js");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toMatch(/from "\.\/columns\.js"/);
    expect((await get("n1", "/assets/dashboard.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await get("n1", "/assets/no-such.js")).status).toBe(404);
    expect((await get("n1", "/assets/index.html")).status).toBe(404); // the template only as the page
    expect(await raw(ports.get("n1")!, "GET /assets/../package.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 404/);
  });

  it("listens on 127.0.0.1 by default: not reachable on the machine's other addresses", async (ctx) => {
    if (outside === undefined) return ctx.skip("this machine has no non-loopback IPv4 address");
    const port = ports.get("n1")!;
    await expect(fetch(`http://${outside}:${port}/healthz`)).rejects.toThrow();
    expect((await get("n1", "/healthz")).status).toBe(200);
  });

  it("on loopback without a token, drains only for requests addressed to loopback from the same origin", async () => {
    const crossSite = await drain("n1", { Origin: "http://evil.example" });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: string }).error).toMatch(/cross-origin/);
    // DNS rebinding: a name of the attacker's that resolves to 127.0.0.1 arrives as its Host.
    const rebound = await raw(ports.get("n1")!, "POST /admin/drain HTTP/1.1\r\nHost: evil.example:80\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    expect(rebound).toMatch(/^HTTP\/1\.1 403/);
    expect(rebound).toMatch(/loopback host/);
    expect((await get("n1", "/healthz")).status).toBe(200);
    expect(c.nodes.get("n1")!.logs).not.toContain("drain requested over HTTP");
  });

  it("drains on POST /admin/drain: 202, 503 on /healthz while stopping, exit 0, shards move away", async () => {
    const first = await get("n4", "/admin/drain", { method: "POST" });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ draining: true });
    const second = await get("n4", "/admin/drain", { method: "POST" }).catch(() => undefined); // it may already be gone
    if (second !== undefined) expect(second.status).toBe(202);
    const health = await get("n4", "/healthz").catch(() => undefined);
    if (health !== undefined) expect(health.status).toBe(503);
    const n4 = c.nodes.get("n4")!;
    expect(await n4.exited).toBe(0);
    expect(n4.logs.match(/"msg":"drain requested over HTTP"/g)).toHaveLength(1);
    const rest = await c.waitStable(["n1", "n2", "n3"], 30_000);
    expect(rest.reduce((n, s) => n + s.shards, 0)).toBe(SHARDS);
    expect(total(await scrapeAll(["n1", "n2", "n3"]), "shoal_shards_owned")).toBe(SHARDS);
  });
});

describe("shoal node --http-host beyond loopback: the admin token", () => {
  const token = "0123456789abcdef0123456789abcdef";

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-admin-"));
    const tokenFile = join(dir, "admin-token");
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    c.start("n5", ["--http", String(ports.get("n5")), "--http-host", "0.0.0.0"]);
    c.start("n6", ["--http", String(ports.get("n6")), "--http-host", "0.0.0.0", "--admin-token-file", tokenFile]);
    await c.waitStable(["n1", "n2", "n3", "n5", "n6"], 30_000);
  });

  it("serves GET routes on every interface", async (ctx) => {
    expect((await get("n5", "/healthz")).status).toBe(200);
    expect(c.nodes.get("n5")!.logs).toMatch(/"host":"0\.0\.0\.0".*"admin":"disabled \(no token\)".*"msg":"http listening"/);
    if (outside === undefined) return ctx.skip("this machine has no non-loopback IPv4 address");
    expect((await fetch(`http://${outside}:${ports.get("n5")}/status`)).status).toBe(200);
  });

  it("refuses the admin routes without a token configured (403 saying how to enable them), even from loopback", async () => {
    const r = await drain("n5");
    expect(r.status).toBe(403);
    const { error } = (await r.json()) as { error: string };
    expect(error).toMatch(/admin routes are disabled/);
    expect(error).toMatch(/--admin-token-file/);
    expect(error).toMatch(/Authorization: Bearer/);
    expect((await get("n5", "/healthz")).status).toBe(200);
    expect(c.nodes.get("n5")!.running).toBe(true);
  });

  it("with a token file, drains only with Authorization: Bearer <token>, then exits 0", async () => {
    const none = await drain("n6");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer /);
    for (const wrong of [`Bearer ${token.slice(1)}`, `Bearer ${token}x`, `Basic ${token}`, token]) {
      expect((await drain("n6", { Authorization: wrong })).status, wrong).toBe(401);
    }
    expect((await get("n6", "/healthz")).status).toBe(200);
    const n6 = c.nodes.get("n6")!;
    expect(n6.logs).not.toContain("drain requested over HTTP");
    const ok = await drain("n6", { Authorization: `Bearer ${token}` });
    expect(ok.status).toBe(202);
    expect(await n6.exited).toBe(0);
    expect(n6.logs).toContain('"msg":"drain requested over HTTP"');
  });
});

/** Writes `bytes` on a fresh connection and resolves to what comes back before it closes. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, "127.0.0.1", () => s.end(Buffer.from(bytes, "latin1")));
    let out = "";
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", () => resolve(out));
    s.on("error", reject);
    s.setTimeout(5000, () => s.destroy());
  });
}
