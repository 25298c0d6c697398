import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The dashboard's files as a node serves them: the page (`index.html`, with the cluster's name
 * filled in) and its assets (its style sheets, the compiled browser modules and `favicon.svg`). Their sources are
 * in cluster/http/dashboard/; `npm run build` compiles and copies them to `dist/dashboard/`.
 */

/** One file of the dashboard, ready to send. */
export interface DashboardAsset {
  contentType: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** The dashboard's files, read once; missing files make {@link Dashboard.missing} say why. */
export class Dashboard {
  private constructor(
    private readonly template: string | undefined,
    private readonly assets: ReadonlyMap<string, DashboardAsset>,
    /** Why the dashboard cannot be served (its files are not built), or undefined. */
    readonly missing: string | undefined,
  ) {}

  /** Reads the built dashboard from `dir` (default: `dist/dashboard/` of this package). */
  static load(dir: string | undefined = builtDashboardDir()): Dashboard {
    const index = dir === undefined ? undefined : join(dir, "index.html");
    if (dir === undefined || !existsSync(index!)) {
      const where = dir ?? "dist/dashboard (no package.json named shoal above this module)";
      return new Dashboard(undefined, new Map(), `the dashboard is not built (no ${where}/index.html): run npm run build`);
    }
    const assets = new Map<string, DashboardAsset>();
    for (const name of readdirSync(dir)) {
      const contentType = TYPES[extname(name)];
      if (contentType !== undefined && name !== "index.html") assets.set(name, { contentType, body: readFileSync(join(dir, name)) });
    }
    return new Dashboard(readFileSync(index!, "utf8"), assets, undefined);
  }

  /** The page for `cluster` (its name HTML-escaped), or undefined if the dashboard is not built. */
  page(cluster: string): string | undefined {
    const name = escapeHtml(cluster);
    return this.template?.replaceAll("{{cluster}}", () => name);
  }

  /** The asset named `name` (a file name, e.g. `main.js`; nothing else matches). */
  asset(name: string): DashboardAsset | undefined {
    return this.assets.get(name);
  }
}

/**
 * `dist/dashboard/` of the package this module belongs to: found by walking up to the
 * package.json named "shoal", so it is the same directory whether this module runs compiled
 * (dist/cluster/http/) or from its TypeScript source (cluster/http/, under vitest).
 */
export function builtDashboardDir(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && isShoal(pkg)) return join(dir, "dist", "dashboard");
    if (dirname(dir) === dir) return undefined;
  }
}

function isShoal(pkg: string): boolean {
  try {
    return (JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "shoal";
  } catch {
    return false;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
