/**
 * The dashboard (cluster/http/dashboard/, built into dist/dashboard/) in a real browser: headless
 * Chromium driven by playwright-core. First against a fake node (a tiny HTTP server with a
 * scripted /cluster and /events, serving the built page and assets as a node does), then against
 * real `shoal node --http` processes: 3 nodes, then a 4th joining and the shards migrating
 * toward it. Also: the published package carries the built dashboard.
 *
 * The browser: Debian's package (`apt-get update && apt-get install -y chromium`, or run
 * `.ci/install-browser.sh` as root), or any Chromium/Chrome named by `CHROMIUM_PATH`. Never
 * `npx playwright install` (it downloads from a CDN). Without one the suite is skipped and its
 * name says why. Run:
 *
 *   npm run build && npx vitest run --project integration integration/dashboard.test.ts
 *
 * Each run writes a screenshot to a temp dir (printed); `SHOAL_SCREENSHOT=/path.png` copies it.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { ClusterEvent } from "../cluster/events.js";
import { Dashboard } from "../cluster/http/dashboard.js";
import type { NodeStatus } from "../cluster/status.js";
import { ShoalClient } from "../src/client.js";
import { TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM } from "./kit/browser.js";
import { waitFor } from "./kit/index.js";
import { freePorts } from "./kit/index.js";

const NODE_ARGS = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"];
const SHARDS = 64;
const SETTLE = 30_000;

const chromiumPath = findChromium();
const suite = chromiumPath === undefined ? describe.skip : describe;
const title = chromiumPath === undefined ? `dashboard in a browser — skipped: ${NO_CHROMIUM}` : "dashboard in a browser";

suite(title, () => {
  let browser: Browser;
  const cleanups: Array<() => Promise<unknown> | undefined> = [];

  beforeAll(async () => {
    expect(dashboard.missing, "build the dashboard first: npm run build").toBeUndefined();
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_ARGS] });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * A page at `url` whose uncaught script errors, console errors (a script or style the
   * Content-Security-Policy blocks, a module that fails to load) and failed requests are collected.
   */
  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 860 } });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    page.on("console", (m) => {
      // A failed request is also logged to the console; the response listener judges those.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().endsWith("/cluster")) errors.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(url);
    return { page, errors };
  }

  const count = (page: Page, selector: string) => page.locator(selector).count();

  async function waitForCount(page: Page, selector: string, ok: (n: number) => boolean, what: string, timeout = SETTLE): Promise<void> {
    let last: number | undefined;
    try {
      await waitFor(
        async () => {
          last = await count(page, selector);
          return ok(last);
        },
        { timeout, interval: 100, message: what },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message} (${selector} matched ${last ?? "nothing yet"})`, { cause: err });
    }
  }

  /** The owners of the partitions of a projection's row, in order ("" for none). */
  async function owners(row: Locator): Promise<string[]> {
    const chips = await row.locator("[data-partition]").all();
    return Promise.all(chips.map(async (c) => (await c.getAttribute("data-owner")) ?? ""));
  }

  /** The number a projection's row shows in `field` ("1,234", "2.5/s", "0.0 s"); NaN for a dash. */
  async function shown(row: Locator, field: string): Promise<number> {
    return Number.parseFloat(((await row.locator(`[data-field="${field}"]`).textContent()) ?? "").replaceAll(",", ""));
  }

  /** Waits until `ok` holds for what a projection's row shows; the error says what it showed last. */
  async function waitForRow(row: Locator, ok: (r: { applied: number; rate: number; lag: number; owners: string[] }) => boolean, what: string): Promise<void> {
    let last = "nothing yet";
    try {
      await waitFor(
        async () => {
          const r = { applied: await shown(row, "applied"), rate: await shown(row, "rate"), lag: await shown(row, "lag"), owners: await owners(row) };
          last = JSON.stringify(r);
          return ok(r);
        },
        { timeout: SETTLE, interval: 200, message: what },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message} (the row showed ${last})`, { cause: err });
    }
  }

  async function columnIds(page: Page): Promise<string[]> {
    const cols = await page.locator("[data-node]").all();
    return Promise.all(cols.map(async (c) => (await c.getAttribute("data-node")) ?? ""));
  }

  /** Writes the page to a temp file (the final one also to SHOAL_SCREENSHOT, if set); returns the temp path. */
  async function screenshot(page: Page, name: string, final = false): Promise<string> {
    const path = join(mkdtempSync(join(tmpdir(), "shoal-dashboard-")), name);
    await page.screenshot({ path, fullPage: true });
    console.info(`dashboard screenshot: ${path}`);
    const keep = process.env.SHOAL_SCREENSHOT;
    if (keep && final) copyFileSync(path, keep);
    return path;
  }

  it("renders a fake node's view: sorted columns, one leader, escaped name, live feed, a node leaving, offline", async () => {
    const name = `<b>"bank"</b> & 'co'`;
    const fake = await FakeNode.start(name);
    cleanups.push(() => fake.stop());
    fake.view = view(["n10", "n2", "n1"], "n2");
    const { page, errors } = await open(fake.url);

    await waitForCount(page, "[data-node]", (n) => n === 3, "three columns");
    expect(await columnIds(page)).toEqual(["n1", "n2", "n10"]);
    expect(await page.locator("#cluster-name").textContent()).toBe(name);
    expect(await page.title()).toBe(`Shoal · ${name}`);
    expect(await count(page, "[data-leader]")).toBe(1);
    expect(await count(page, '[data-node="n2"] [data-leader]')).toBe(1);
    expect(await page.locator("#leader").textContent()).toBe("n2");
    expect(await page.locator('[data-node="n10"] [data-field="shards"]').textContent()).toBe("22");
    await waitForCount(page, '#conn[data-status="live"]', (n) => n === 1, "the event stream opens");

    // n4 joins: its column appears, migrations toward it land in the feed, newest first.
    fake.push({ type: "member.joined", member: "n4", state: "joining" }, "n2");
    fake.view = view(["n10", "n2", "n1", "n4"], "n2", { n4: "joining" });
    await waitForCount(page, "[data-node]", (n) => n === 4, "n4's column");
    expect(await columnIds(page)).toEqual(["n1", "n2", "n4", "n10"]);
    fake.push({ type: "map.published", version: 3, epoch: 1, moves: 2, sample: [] }, "n2");
    fake.push({ type: "migration", phase: "completed", shard: 7, from: "n1", to: "n4", actors: 3, mapVersion: 3, ms: 4 }, "n1");
    fake.push({ type: "migration", phase: "failed", shard: 9, from: "n10", to: "n4", actors: 0, mapVersion: 3, ms: 10_000, reason: "timed out" }, "n10");
    await waitForCount(page, '#events li[data-type="migration"][data-to="n4"]', (n) => n === 2, "two migrations toward n4 in the feed");
    const feed = page.locator("#events li");
    expect(await feed.first().getAttribute("data-phase")).toBe("failed");
    expect(await feed.nth(1).textContent()).toContain("shard 7 n1 → n4 · 3 actors · paused 4 ms");
    expect(await feed.nth(2).getAttribute("data-type")).toBe("map.published");
    expect(await page.locator('[data-node="n4"] [data-field="moves"]').textContent()).toContain("#7 ← n1");
    expect(await page.locator('[data-node="n1"] [data-field="moves"]').textContent()).toContain("#7 → n4");

    // n10 leaves: its column goes.
    fake.view = view(["n2", "n1", "n4"], "n2");
    fake.push({ type: "member.left", member: "n10" }, "n2");
    await waitForCount(page, "[data-node]", (n) => n === 3, "n10's column removed");
    expect(await columnIds(page)).toEqual(["n1", "n2", "n4"]);

    // The node stops answering: the page says so and keeps the last view.
    fake.failing = true;
    await waitForCount(page, '#conn[data-status="offline"]', (n) => n === 1, "offline shown", 10_000);
    expect(await count(page, "[data-node]")).toBe(3);
    expect(errors).toEqual([]);
  });

  it("shows a fake node's projections: a row per build, owners coloured, a stopped partition and its error as text", async () => {
    const fake = await FakeNode.start("bank");
    cleanups.push(() => fake.stop());
    fake.view = view(["n1", "n2", "n10"], "n2");
    const { page, errors } = await open(fake.url);
    await waitForCount(page, "[data-node]", (n) => n === 3, "three columns");
    expect(await page.locator("#projections-empty").isVisible()).toBe(true);

    fake.view = { ...view(["n1", "n2", "n10"], "n2"), at: Date.now(), projections: projections() };
    const rows = "#projection-rows tr[data-projection]";
    await waitForCount(page, rows, (n) => n === 2, "a row per build of account-balances (the malformed entries left out)");
    expect(await page.locator("#projections-empty").isVisible()).toBe(false);
    expect(await page.locator("#projection-count").textContent()).toBe("1");
    const serving = page.locator(`${rows}[data-build="1"]`);
    expect(await serving.getAttribute("data-role")).toBe("serving");
    expect(await serving.getAttribute("data-stopped")).toBe("1");
    const field = async (row: typeof serving, f: string) => row.locator(`[data-field="${f}"]`).textContent();
    expect(await field(serving, "projection")).toBe("account-balances");
    expect(await field(serving, "build")).toBe("b1serving");
    expect(await field(serving, "lag")).toBe("12");
    expect(await field(serving, "lag-seconds")).toBe("4.3 s");
    expect(await field(serving, "rate")).toBe("5.0/s"); // not the stopped partition's, nor the idle one's last rate
    expect(await field(serving, "applied")).toBe("1,166");
    expect(await field(serving, "dead-letters")).toBe("3");
    expect(await serving.locator(".running").textContent()).toBe("3/4");
    const stopped = serving.locator('[data-partition="2"]');
    expect(await stopped.getAttribute("data-owner")).toBe("n10");
    expect(await stopped.getAttribute("data-stopped")).toBe("");
    expect(await stopped.textContent()).toBe("2STOPPED");
    // The error is shown as text under the row: the markup in it is not parsed.
    const reason = page.locator('#projection-rows tr.stop-reason [data-partition="2"]');
    expect(await reason.textContent()).toBe(`stoppedpartition 2 on n10${EVIL}`);
    expect(await count(page, "#projections img")).toBe(0);
    expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
    // A partition takes its owner's column colour.
    const color = "(e) => getComputedStyle(e).backgroundColor";
    const swatch = await page.locator('[data-node="n1"] .swatch').evaluate(color);
    expect(await serving.locator('[data-partition="0"] .dot').evaluate(color)).toBe(swatch);
    const building = page.locator(`${rows}[data-build="2"]`);
    expect(await building.getAttribute("data-role")).toBe("building");
    expect(await building.locator(".running").textContent()).toBe("1/2");
    expect(await building.locator('[data-partition="1"]').getAttribute("data-owner")).toBeNull();
    expect(await building.locator('[data-partition="1"]').textContent()).toBe("1unowned");
    expect(await field(building, "dead-letters")).toBe("");
    await screenshot(page, "dashboard-projections.png");

    // The partition is resumed and the new build dropped: one row, nothing stopped.
    fake.view = { ...view(["n1", "n2", "n10"], "n2"), at: Date.now(), projections: projections({ resumed: true }) };
    await waitForCount(page, rows, (n) => n === 1, "the building row gone");
    expect(await serving.getAttribute("data-stopped")).toBe("0");
    expect(await field(serving, "dead-letters")).toBe("0");
    expect(await page.locator("#projection-rows tr.stop-reason").first().isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });

  it("shows 3 real nodes, then a 4th joining and the migrations toward it", async () => {
    const ports = await freePorts(4);
    const c = await TestCluster.create(inject("natsUrl"), uniqueCluster("dash"), { shards: SHARDS, args: NODE_ARGS });
    cleanups.push(() => c.close());
    const first = ["n1", "n2", "n3"];
    for (const [i, id] of first.entries()) c.start(id, ["--http", String(ports[i])]);
    const settled = await c.waitStable(first, SETTLE);
    // Active actors, so the columns count some and the migrations carry state.
    const client = new ShoalClient(c.nc, c.name);
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.ask("account", `acct-${i}`, { deposit: { amount: 5, txn: `t-${i}` } })));

    const base = `http://127.0.0.1:${ports[0]}`;
    await waitFor(async () => (await fetch(`${base}/cluster`)).ok, { timeout: SETTLE, interval: 100, message: `n1 serves ${base}/cluster` });
    const { page, errors } = await open(`${base}/`);
    await waitForCount(page, "[data-node]", (n) => n === 3, "three node columns");
    await waitForCount(page, "[data-leader]", (n) => n === 1, "exactly one leader badge");
    expect(await columnIds(page)).toEqual(first);
    const leader = settled[0]!.leader!;
    expect(await count(page, `[data-node="${leader}"] [data-leader]`)).toBe(1);
    await waitForCount(page, '#conn[data-status="live"]', (n) => n === 1, "the event stream opens");
    // The built-in projection: its 4 partitions held by the three nodes, the 60 deposits applied.
    const balances = page.locator('#projection-rows tr[data-projection="account-balances"][data-role="serving"]');
    await waitForRow(
      balances,
      (r) => r.owners.length === 4 && r.owners.every((o) => first.includes(o)) && r.applied >= 60,
      "account-balances shows 4 partitions held by n1-n3 and the 60 deposits applied",
    );
    expect(await balances.getAttribute("data-stopped")).toBe("0");

    c.start("n4", ["--http", String(ports[3])]);
    await waitForCount(page, "[data-node]", (n) => n === 4, "n4's column appears");
    await waitForCount(page, '#events li[data-type="migration"][data-to="n4"]', (n) => n >= 1, "a migration toward n4 in the feed");
    await screenshot(page, "dashboard-joining.png");

    const all = [...first, "n4"];
    const after = await c.waitStable(all, SETTLE);
    const n4 = after.find((s: NodeStatus) => s.node === "n4")!;
    await waitFor(async () => (await page.locator('[data-node="n4"] [data-field="shards"]').textContent()) === String(n4.shards), {
      timeout: SETTLE,
      interval: 100,
      message: `n4's column shows its ${n4.shards} shards`,
    });
    expect(await columnIds(page)).toEqual(all);
    expect(await count(page, "[data-leader]")).toBe(1);
    const moved = c.events.filter((e) => e.type === "migration" && e.to === "n4" && e.phase === "completed").length;
    expect(moved).toBeGreaterThan(0);
    // More deposits: the projection's applied count and rate follow, its lag back to 0.
    const before = await shown(balances, "applied");
    await Promise.all(Array.from({ length: 40 }, (_, i) => client.ask("account", `acct-${i}`, { deposit: { amount: 1, txn: `more-${i}` } })));
    await waitForRow(balances, (r) => r.applied >= before + 40 && r.rate > 0 && r.lag === 0, `account-balances shows 40 more deposits than ${before}`);
    expect((await owners(balances)).every((o) => all.includes(o))).toBe(true);
    // A calm picture: the shards in flight have landed and the flashes faded.
    await waitForCount(page, ".flyer", (n) => n === 0, "migration animations end", 10_000);
    await page.waitForTimeout(1200);
    await screenshot(page, "dashboard.png", true);
    // Nothing more to apply: the partitions stop committing and the panel counts them idle, not at their last rate.
    await waitForRow(balances, (r) => r.rate === 0 && r.applied >= before + 40, "account-balances shows 0/s once idle");
    expect(errors).toEqual([]);
  });
});

const dashboard = Dashboard.load();

describe("the published package", () => {
  it("carries the built dashboard: the page, its styles and its compiled modules", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const files = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    for (const f of [
      "index.html",
      "dashboard.css",
      "nodes.css",
      "projections.css",
      "main.js",
      "columns.js",
      "feed.js",
      "projections.js",
      "rate.js",
      "dom.js",
      "wire.js",
    ])
      expect(files, f).toContain(`dist/dashboard/${f}`);
    expect(files).toContain("dist/cluster/http/dashboard.js");
    expect([...files].filter((f) => f.startsWith("cluster/"))).toEqual([]); // sources stay out
  });
});

/** A stand-in for a node's HTTP interface: a scripted `/cluster` view and an `/events` stream the test writes to. */
class FakeNode {
  view: unknown = { nodes: [] };
  failing = false;
  private readonly streams = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(cluster: string): Promise<FakeNode> {
    let self: FakeNode | undefined;
    const server = createServer((req, res) => self!.handle(req.url ?? "/", res, cluster));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new FakeNode(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return self;
  }

  push(body: Record<string, unknown>, node: string): void {
    const event = { ...body, cluster: "fake", node, at: Date.now() } as unknown as ClusterEvent;
    for (const res of this.streams) res.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  async stop(): Promise<void> {
    for (const res of this.streams) res.end();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(url: string, res: ServerResponse, cluster: string): void {
    const asset = url.startsWith("/assets/") ? dashboard.asset(url.slice(8)) : undefined;
    if (url === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(dashboard.page(cluster));
    } else if (asset !== undefined) {
      res.writeHead(200, { "Content-Type": asset.contentType }).end(asset.body);
    } else if (url === "/cluster") {
      if (this.failing) res.writeHead(503).end("{}");
      else res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(this.view));
    } else if (url === "/events") {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
      res.write(": connected\n\n");
      this.streams.add(res);
      res.on("close", () => this.streams.delete(res));
    } else {
      res.writeHead(404).end();
    }
  }
}

/** What a stopped partition says: markup the page must show as text. */
const EVIL = `handler threw: <img src=x onerror="window.pwned=1"> & "quotes"`;

/**
 * A `/cluster` answer's projections: account-balances serving build 1 (partition 2 stopped on n10,
 * partition 3 idle for a minute) while building 2 (partition 1 unclaimed), then entries the page
 * must leave out. `resumed`: the partition runs again and build 2 is gone.
 */
function projections({ resumed = false } = {}): unknown[] {
  const part = (partition: number, owner: string | null, more: Record<string, unknown> = {}) => ({
    partition,
    owner,
    checkpoint: 100 + partition,
    lag: 0,
    lagSeconds: 0,
    rate: 2.5,
    applied: 40 + partition,
    deadLettered: 0,
    skipped: 0,
    at: Date.now(),
    stopped: null,
    ...more,
  });
  const serving = {
    build: 1,
    role: "serving",
    partitions: [
      part(0, "n1", { applied: 1040 }),
      part(1, "n2"),
      part(2, "n10", { stopped: EVIL, lag: 12, lagSeconds: 4.26 }),
      part(3, "n1", { rate: 50, at: Date.now() - 60_000 }),
    ],
  };
  const building = { build: 2, role: "building", partitions: [part(0, "n2", { lag: 3, lagSeconds: 0.5 }), part(1, null, { rate: "fast" })] };
  const balances = resumed
    ? { name: "account-balances", serving: 1, building: null, deadLetters: 0, builds: [{ ...serving, partitions: [0, 1, 2, 3].map((k) => part(k, "n1")) }] }
    : { name: "account-balances", serving: 1, building: 2, deadLetters: 3, builds: [serving, building] };
  return [
    balances,
    { name: 7, builds: [serving] },
    { name: "broken", builds: [{ build: "1", role: "serving", partitions: [] }, { build: 3, role: "retired", partitions: [] }, null] },
    "garbage",
  ];
}

/** A `/cluster` answer: 64 shards spread over `ids`, 10 actors each. */
function view(ids: string[], leader: string, states: Record<string, NodeStatus["state"]> = {}) {
  const members = ids.map((id) => ({ id, weight: 1, state: states[id] ?? "active", startedAt: 0 }));
  const nodes: NodeStatus[] = ids.map((id, i) => ({
    node: id,
    cluster: "fake",
    state: states[id] ?? "active",
    leader,
    epoch: 1,
    isLeader: id === leader,
    mapVersion: 2,
    mapEpoch: 1,
    shards: Math.floor(SHARDS / ids.length) + (i < SHARDS % ids.length ? 1 : 0),
    actors: 10,
    migrations: 0,
    forwarded: 0,
    types: ["account"],
    members,
  }));
  return { cluster: "fake", leader, epoch: 1, mapVersion: 2, nodes, unreachable: [] };
}
