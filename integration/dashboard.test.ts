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

// Hot at a rate the test's load reaches on a busy machine.
const NODE_ARGS = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000", "--hot-actor", "20", "--hot-shard", "40"];
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

  /** The `data-<name>` attributes of `loc` (null for those it lacks). */
  async function attrs(loc: Locator, names: string[]): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    for (const n of names) out[n] = await loc.getAttribute(`data-${n}`);
    return out;
  }

  /** The text of `loc`'s `[data-field=name]`. */
  async function fieldText(loc: Locator, name: string): Promise<string> {
    return (await loc.locator(`[data-field="${name}"]`).first().textContent()) ?? "";
  }

  /**
   * Each map that moved shards to `to` is one row of the page's feed, with the completed and
   * failed moves the cluster's `events` have for its version, each listed inside it.
   */
  async function expectMapsAsEvents(page: Page, events: readonly ClusterEvent[], to: string): Promise<void> {
    const moves = events.filter((e): e is Extract<ClusterEvent, { type: "migration" }> => e.type === "migration");
    const versions = [...new Set(moves.filter((e) => e.to === to).map((e) => e.mapVersion))];
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) {
      const of = (phase: string) => moves.filter((e) => e.mapVersion === v && e.phase === phase).length;
      const row = page.locator(`#events > li[data-version="${v}"]`);
      let shown: string | null = null;
      try {
        await waitFor(
          async () => {
            shown = (await row.count()) === 1 ? await row.getAttribute("data-completed") : "no row";
            return shown === String(of("completed"));
          },
          { timeout: 10_000, interval: 100, message: `map v${v}'s row counts ${of("completed")} completed moves` },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message} (it shows ${shown})`, { cause: err });
      }
      expect(await row.getAttribute("data-failed")).toBe(String(of("failed")));
      expect(await row.getAttribute("data-handoffs")).toBe(String(of("completed") + of("failed"))); // every handoff reported its end
      expect(await row.locator('li[data-type="migration"]').count()).toBe(of("completed") + of("failed"));
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
    // The map and its moves are one row: counted, the longest pause, the moves listed inside.
    const feed = page.locator("#events > li");
    const map3 = feed.first();
    expect(await attrs(map3, ["type", "version", "moves", "completed", "failed", "longest", "reason"])).toEqual({
      type: "map.published",
      version: "3",
      moves: "2",
      completed: "1",
      failed: "1",
      longest: "4",
      reason: null,
    });
    expect(await map3.locator(".map-head").textContent()).toContain("map v3rebalance · 2 moves · 1 done · 1 failed · longest pause 4.0 ms");
    expect(await map3.locator('li[data-type="migration"]').count()).toBe(2);
    expect(await map3.locator('li[data-phase="completed"]').textContent()).toBe("shard 7 n1 → n4 · 3 actors · paused 4 ms");
    expect(await map3.locator('li[data-phase="failed"]').textContent()).toBe("shard 9 n10 → n4 failed after 10000 ms: timed out");
    expect(await feed.nth(1).getAttribute("data-type")).toBe("member.joined");
    expect(await page.locator('[data-node="n4"] [data-field="moves"]').textContent()).toContain("#7 ← n1");
    expect(await page.locator('[data-node="n1"] [data-field="moves"]').textContent()).toContain("#7 → n4");
    // A load-balancing map says so; a move of a map the page never saw gets a row for its version.
    fake.push({ type: "map.published", version: 4, epoch: 1, moves: 1, sample: [], reason: "load" }, "n2");
    fake.push({ type: "migration", phase: "completed", shard: 12, from: "n2", to: "n1", actors: 1, mapVersion: 2, ms: 9 }, "n2");
    await waitForCount(page, "#events > li", (n) => n === 4, "the load map and the earlier map's row");
    expect(await feed.nth(1).getAttribute("data-reason")).toBe("load");
    expect(await attrs(feed.first(), ["version", "moves", "completed"])).toEqual({ version: "2", moves: null, completed: "1" });
    expect(await count(page, "#events > li[data-type='migration']")).toBe(0);

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
    const swatch = await page.locator('[data-node="n1"] .swatch').evaluate(backgroundOf);
    expect(swatch).toMatch(/^rgb\(/);
    expect(await serving.locator('[data-partition="0"] .dot').evaluate(backgroundOf)).toBe(swatch);
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

  it("shows a fake node's client requests, load, roles and pins; node colours follow their ids on every page", async () => {
    const fake = await FakeNode.start("bank");
    cleanups.push(() => fake.stop());
    fake.view = panelsView();
    const { page, errors } = await open(fake.url);
    await waitForCount(page, "#request-rows tr", (n) => n === 3, "a row per type and the total");
    const account = page.locator('#request-rows tr[data-request-type="account"]');
    expect(await fieldText(account, "rate")).toBe("12/s");
    expect(await fieldText(account, "errors")).toBe("2.0 % · TIMEOUT 3");
    expect(await account.locator('[data-field="errors"]').getAttribute("class")).toContain("bad");
    expect(await fieldText(account, "p50")).toBe("1.2 ms");
    expect(await fieldText(account, "p99")).toBe("45 ms");
    expect(await account.locator("[data-on]").evaluateAll((xs) => xs.map((x) => x.textContent))).toEqual(["n18.0/s3.1 ms", "n24.0/s45 ms"]);
    expect(await fieldText(page.locator('#request-rows tr[data-request-type="*"]'), "rate")).toBe("12/s");
    expect(await page.locator("#requests-empty").isVisible()).toBe(false);
    // The node columns: their own ingress, turns and roles.
    const n1 = page.locator('[data-node="n1"]');
    expect(await fieldText(n1, "rps")).toBe("8.0/s");
    expect(await fieldText(n1, "errors")).toBe("0 %");
    expect(await fieldText(n1, "p99")).toBe("3.1 ms");
    expect(await fieldText(n1, "turns")).toBe("150/s");
    expect(await fieldText(page.locator('[data-node="n2"]'), "roles")).toBe("gpu");
    expect(await page.locator('[data-node="n1"] [data-field="roles"]').isVisible()).toBe(false);
    // Load: the hot shard and actor marked, the actor's id (markup) shown as text.
    expect(
      await page.locator("#shard-rows tr[data-shard]").evaluateAll((xs) => xs.map((x) => [x.getAttribute("data-shard"), x.hasAttribute("data-hot")])),
    ).toEqual([
      ["17", true],
      ["3", false],
    ]);
    const hotActor = page.locator(`#actor-rows tr[data-actor-type="account"][data-actor-id="${EVIL.replaceAll('"', '\\"')}"]`);
    expect(await hotActor.getAttribute("data-hot")).toBe("");
    expect(await fieldText(hotActor, "actor")).toBe(`hotaccount${EVIL}`); // its HOT badge, then type and id
    expect(await count(page, "#shard-rows .hot-badge")).toBe(1);
    expect(await fieldText(page.locator("#shard-rows tr").first(), "turns")).toBe("1,500/s");
    expect(await page.locator("#shard-threshold").textContent()).toBe("hot ≥ 1,000/s");
    expect(await page.locator("#hot-count").textContent()).toBe("2");
    expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
    // Roles and pins: the group with its node, a pin that fell back.
    const group = page.locator('#group-rows tr[data-group="gpu"]');
    expect(await fieldText(group, "types")).toBe("render");
    expect(await group.locator("[data-on]").getAttribute("data-on")).toBe("n2");
    expect(await fieldText(group, "shards")).toBe("64 · 2 unowned");
    const pin = page.locator('#pin-rows tr[data-pin-type="account"][data-pin-tenant="acme"]');
    expect(await pin.getAttribute("data-fell-back")).toBe("");
    expect(await fieldText(pin, "pinned")).toBe("node n9");
    expect(await fieldText(pin, "owner")).toBe("n1fell back");
    expect(await page.locator("#placement-empty").isVisible()).toBe(false);
    await page.waitForTimeout(700); // the columns' entry animation
    await screenshot(page, "dashboard-panels.png");

    // The same node has the same colour on another page with other nodes around it.
    const n10 = await page.locator('[data-node="n10"] .swatch').evaluate(backgroundOf);
    expect(n10).toMatch(/^rgb\(/);
    const other = await FakeNode.start("bank");
    cleanups.push(() => other.stop());
    other.view = view(["n10", "n5"], "n5");
    const second = await open(other.url);
    await waitForCount(second.page, "[data-node]", (n) => n === 2, "two columns");
    expect(await second.page.locator('[data-node="n10"] .swatch').evaluate(backgroundOf)).toBe(n10);
    expect(await second.page.locator('[data-dist="n10"]').evaluate(backgroundOf)).toBe(n10);
    expect(await page.locator('[data-node="n1"] .swatch').evaluate(backgroundOf)).not.toBe(n10);
    // The favicon is the page's own, served beside it.
    const icon = await page.locator('link[rel="icon"]').getAttribute("href");
    const favicon = await fetch(new URL(icon!, fake.url));
    expect(favicon.headers.get("content-type")).toBe("image/svg+xml");
    expect(await favicon.text()).toMatch(/^<svg /);
    expect([...errors, ...second.errors]).toEqual([]);
  });

  it("replays the node's history to a page opened late: maps with their moves folded, the columns' moves, the chart", async () => {
    const fake = await FakeNode.start("bank");
    cleanups.push(() => fake.stop());
    fake.view = view(["n1", "n2", "n3"], "n1");
    const at = Date.now() - 5000;
    fake.history = [
      { type: "member.joined", member: "n3", state: "joining", node: "n1", at },
      { type: "map.published", version: 8, epoch: 2, moves: 3, sample: [], node: "n1", at },
      ...[4, 5, 6].map((shard, i) => ({
        type: "migration",
        phase: "completed",
        shard,
        from: "n1",
        to: "n3",
        actors: 1,
        mapVersion: 8,
        ms: 10 + i,
        node: "n1",
        at: at + 1,
      })),
    ];
    const { page, errors } = await open(fake.url);
    await waitForCount(page, '#events > li[data-type="map.published"][data-completed="3"]', (n) => n === 1, "map v8 with its 3 moves");
    const map8 = page.locator('#events > li[data-version="8"]');
    expect(await attrs(map8, ["moves", "completed", "failed", "longest"])).toEqual({ moves: "3", completed: "3", failed: "0", longest: "12" });
    expect(await map8.getAttribute("class")).not.toContain("new"); // history is not animated
    expect(await count(page, "#events > li")).toBe(2);
    await waitForCount(page, "[data-node]", (n) => n === 3, "three columns");
    expect(await page.locator('[data-node="n3"] [data-field="moves"]').textContent()).toBe("#6 ← n1#5 ← n1#4 ← n1");
    expect(await page.locator("#rate-total").textContent()).toBe("3 moved · peak 3/s");
    expect(await count(page, ".flyer")).toBe(0);
    // Then live, animated.
    fake.push({ type: "migration", phase: "completed", shard: 7, from: "n2", to: "n3", actors: 0, mapVersion: 8, ms: 30 }, "n2");
    await waitForCount(page, '#events > li[data-version="8"][data-completed="4"]', (n) => n === 1, "the live move folded into map v8");
    expect(await map8.getAttribute("data-longest")).toBe("30");
    // Its moves are listed inside, hidden until asked for.
    expect(await map8.locator('li[data-shard="7"]').isVisible()).toBe(false);
    await map8.locator("summary").click();
    expect(await map8.locator('li[data-type="migration"]').evaluateAll((xs) => xs.map((x) => x.textContent))).toEqual([
      "shard 4 n1 → n3 · 1 actor · paused 10 ms",
      "shard 5 n1 → n3 · 1 actor · paused 11 ms",
      "shard 6 n1 → n3 · 1 actor · paused 12 ms",
      "shard 7 n2 → n3 · 0 actors · paused 30 ms",
    ]);
    await page.waitForTimeout(900); // the row's flash
    await screenshot(page, "dashboard-feed.png");
    expect(errors).toEqual([]);
  });

  it("shows 3 real nodes, then a 4th joining and the migrations toward it; under load its requests, hot actors and shards; its history to a late page", async () => {
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
    // Every move is folded into its map's row, each map's counts those of the cluster's events.
    expect(await count(page, '#events > li[data-type="migration"]')).toBe(0);
    await expectMapsAsEvents(page, c.events, "n4");

    // Load: one account asked hard (hot), others now and then, the sequencer, and a type no node hosts (errors).
    let loading = true;
    const driven = (async () => {
      for (let i = 0; loading; i++) {
        await Promise.all([
          ...Array.from({ length: 4 }, () => client.ask("account", "hot-1", { balance: {} })),
          client.ask("account", `acct-${i % 60}`, { balance: {} }),
          client.ask("sequencer", "seq-1", { report: {} }),
          client.ask("no-such-type", "x", {}).catch(() => undefined),
        ]).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 15)); // a steady load, not all the machine has
      }
    })();
    cleanups.push(async () => {
      loading = false;
      await driven;
    });
    const account = page.locator('#request-rows tr[data-request-type="account"]');
    await waitFor(async () => num(await fieldText(account, "rate")) > 10 && num(await fieldText(account, "p99")) > 0, {
      timeout: SETTLE,
      interval: 200,
      message: "the account row shows requests per second and latencies",
    });
    expect(num(await fieldText(account, "p50"))).toBeLessThanOrEqual(num(await fieldText(account, "p99")));
    expect(await fieldText(account, "errors")).toBe("0 %");
    expect(await account.locator("[data-on]").count()).toBeGreaterThan(0);
    await waitForCount(page, '#request-rows tr[data-request-type="sequencer"]', (n) => n === 1, "the sequencer's row");
    const other = page.locator('#request-rows tr[data-request-type="other"]');
    await waitFor(async () => (await fieldText(other, "errors")).startsWith("100 % · UNKNOWN_ACTOR_TYPE"), {
      timeout: SETTLE,
      interval: 200,
      message: "the unhosted type's requests all failed",
    });
    const perNode = await Promise.all(all.map(async (id) => num(await fieldText(page.locator(`[data-node="${id}"]`), "rps"))));
    expect(perNode.filter((r) => r > 0).length).toBeGreaterThan(0);
    // The leader's load: the hammered account hot, its shard among the hot ones.
    await waitForCount(page, '#actor-rows tr[data-actor-type="account"][data-actor-id="hot-1"][data-hot]', (n) => n === 1, "hot-1 is a hot actor");
    await waitForCount(page, "#shard-rows tr[data-hot]", (n) => n >= 1, "a hot shard");
    expect(num(await fieldText(page.locator("#shard-rows tr").first(), "turns"))).toBeGreaterThan(20);
    expect(await page.locator("#shard-threshold").textContent()).toBe("hot ≥ 40/s");

    // A page opened now gets the node's history: the joins, every map with its moves folded.
    const late = await open(`${base}/`);
    await waitForCount(late.page, '#events > li[data-type="map.published"]', (n) => n >= 1, "maps replayed to a late page", 10_000);
    await waitForCount(late.page, "[data-node]", (n) => n === 4, "four columns on the late page");
    expect(await count(late.page, '#events > li[data-type="member.joined"]')).toBeGreaterThan(0);
    expect(await count(late.page, '#events > li[data-type="migration"]')).toBe(0);
    await expectMapsAsEvents(late.page, c.events, "n4");
    expect(await late.page.locator('[data-node="n4"] [data-field="moves"] li').count()).toBeGreaterThan(0);
    expect(await late.page.locator("#rate-total").textContent()).not.toBe("0 moved");
    await late.page.waitForTimeout(800); // the columns' entry animation
    await screenshot(late.page, "dashboard-history.png");
    expect(late.errors).toEqual([]);

    // A calm picture: the shards in flight have landed and the flashes faded.
    await waitForCount(page, ".flyer", (n) => n === 0, "migration animations end", 10_000);
    await page.waitForTimeout(1200);
    await screenshot(page, "dashboard.png", true);
    loading = false;
    await driven;
    // Nothing more to apply: the partitions stop committing and the panel counts them idle, not at their last rate.
    await waitForRow(balances, (r) => r.rate === 0 && r.applied >= before + 40, "account-balances shows 0/s once idle");
    expect(errors).toEqual([]);
  });
});

const dashboard = Dashboard.load();

/** An element's computed background colour (run in the page: the DOM's types are not this file's). */
const backgroundOf = (e: unknown): string =>
  (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor;

/** The number at the start of a cell's text ("1,204/s", "3.1 ms", "1.2 s" in ms); NaN for a dash. */
function num(text: string): number {
  const n = Number.parseFloat(text.replaceAll(",", ""));
  return /^\S+ s$/.test(text) ? n * 1000 : n;
}

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
      "panels.css",
      "favicon.svg",
      "main.js",
      "columns.js",
      "feed.js",
      "projections.js",
      "rate.js",
      "dom.js",
      "wire.js",
      "color.js",
      "format.js",
      "keyed.js",
      "requests.js",
      "load.js",
      "placement.js",
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
  /** Sent to each new event stream first, as the node's history. */
  history: Array<Record<string, unknown>> = [];
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
      for (const [i, e] of this.history.entries()) res.write(`event: history\nid: fake-${i}\ndata: ${JSON.stringify({ cluster: "fake", ...e })}\n\n`);
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

/**
 * A `/cluster` answer with every new panel filled: requests of account on n1 and n2 (TIMEOUTs
 * on n2), sequencer on n1; the leader's load with a hot shard and a hot actor whose id is
 * markup; a role group on n2 (gpu) and a pin that fell back.
 */
function panelsView() {
  const base = view(["n1", "n2", "n10"], "n1");
  const rates = (perSec: number, requests: number, errors: number, p50Ms: number, p99Ms: number, codes: Record<string, number> = {}) => ({
    requests,
    asks: requests,
    sends: 0,
    tells: 0,
    errors,
    perSec,
    errorRatio: errors / requests,
    p50Ms,
    p99Ms,
    codes,
    latency: [],
  });
  const withNodes = (r: ReturnType<typeof rates>, nodes: Array<[string, ReturnType<typeof rates>]>) => ({
    ...r,
    nodes: nodes.map(([node, x]) => ({ node, ...x })),
  });
  const n1 = rates(8, 80, 0, 1.1, 3.1);
  const n2 = rates(4, 40, 3, 1.4, 45, { TIMEOUT: 3 });
  const members = base.nodes[0]!.members.map((m) => (m.id === "n2" ? { ...m, roles: ["gpu"] } : m));
  const nodes = base.nodes.map((s) => ({
    ...s,
    members,
    ...(s.node === "n1"
      ? { requests: { seconds: 10, total: n1, types: [] }, load: { node: "n1", turnsPerSec: 150, mailbox: 0, actors: 3, stateBytes: 0, shards: 2, age: 0 } }
      : {}),
    ...(s.node === "n2" ? { requests: { seconds: 10, total: n2, types: [] } } : {}),
  }));
  return {
    ...base,
    nodes,
    requests: {
      total: withNodes(rates(12, 150, 3, 1.2, 45, { TIMEOUT: 3 }), [
        ["n1", n1],
        ["n2", n2],
      ]),
      types: [
        {
          type: "account",
          ...withNodes(rates(12, 150, 3, 1.2, 45, { TIMEOUT: 3 }), [
            ["n1", n1],
            ["n2", n2],
          ]),
        },
        { type: "sequencer", ...withNodes(rates(0.5, 5, 0, 0.4, 0.9), [["n1", rates(0.5, 5, 0, 0.4, 0.9)]]) },
        { type: 7 },
        "junk",
      ],
    },
    load: {
      nodes: [],
      shards: [
        { shard: 17, node: "n2", turnsPerSec: 1500, mailbox: 7, actors: 1, stateBytes: 3 * 1024 * 1024, hot: true },
        { shard: 3, node: "n1", turnsPerSec: 12, mailbox: 0, actors: 3, stateBytes: 800, hot: false },
        { shard: "x", node: "n1" },
      ],
      actors: [{ type: "account", id: EVIL, shard: 17, node: "n2", turnsPerSec: 1500, hot: true }, { id: 5 }],
      actorThreshold: 100,
      shardThreshold: 1000,
    },
    groups: [{ roles: ["gpu"], types: ["render"], nodes: ["n2"], shards: 64, unowned: 2 }, null],
    pins: [{ type: "account", tenant: "acme", node: "n9", shard: 1088, owner: "n1", applied: false }, { tenant: 3 }],
  };
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
