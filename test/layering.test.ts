import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

function imports(file: string): string[] {
  // Comments may show imports in examples; only code counts.
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g)].map((m) => (m[1] ?? m[2])!);
}

/** Which top-level folder a relative import from `file` lands in. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return relative(root, join(file, "..", spec)).split(/[\\/]/)[0];
}

/** The npm package a bare import names ("@scope/name" or "name"); undefined for relative and node: imports. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("node:")) return undefined;
  return spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");
}

const devDependencies = Object.keys(
  (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies,
);

/**
 * What each production folder may not import. src/ is the core; cluster/ builds on it; local-nats/
 * (local nats-servers and node processes) on both; testing/ (the kit for users' tests) on all
 * three; bin/ and bench/ on the first three. Tests and their
 * kit sit on top of everything, and nothing below may reach up into them.
 */
const RULES: Record<string, readonly string[]> = {
  src: ["cluster", "local-nats", "testing", "bin", "bench", "integration", "test"],
  cluster: ["local-nats", "testing", "bin", "bench", "integration", "test"],
  "local-nats": ["testing", "bin", "bench", "integration", "test"],
  testing: ["bin", "bench", "integration", "test"],
  bin: ["testing", "bench", "integration", "test"],
  bench: ["testing", "integration", "test"],
};

/** `file → spec` for every import of a file under `folder` that lands in a forbidden folder or a devDependency. */
function offending(folder: string, forbidden: readonly string[]): string[] {
  return sources(join(root, folder)).flatMap((f) =>
    imports(f)
      .filter((s) => forbidden.includes(target(f, s) ?? "") || devDependencies.includes(packageOf(s) ?? ""))
      .map((s) => `${relative(root, f)} → ${s}`),
  );
}

describe("layering (cluster/ depends on src/, never the reverse; production code never on tests)", () => {
  for (const [folder, forbidden] of Object.entries(RULES)) {
    it(`${folder}/ imports nothing from ${forbidden.map((f) => `${f}/`).join(", ")} or a devDependency`, () => {
      expect(offending(folder, forbidden)).toEqual([]);
    });
  }

  it("finds imports at all (the check is not vacuous)", () => {
    expect(imports(join(root, "src", "host.ts")).length).toBeGreaterThan(3);
    expect(imports(join(root, "bin", "commands", "demo", "demo.ts"))).toContain("../../../local-nats/index.js");
    expect(target(join(root, "src", "x.ts"), "../cluster/a.js")).toBe("cluster");
    expect(target(join(root, "bin", "commands", "demo", "x.ts"), "../../../integration/kit/index.js")).toBe("integration");
    expect(packageOf("@nats-io/jetstream/lib/x.js")).toBe("@nats-io/jetstream");
    expect(devDependencies).toEqual(expect.arrayContaining(["testcontainers", "vitest"]));
    expect(devDependencies.includes(packageOf("testcontainers") ?? "")).toBe(true);
    for (const folder of Object.keys(RULES)) expect(sources(join(root, folder)).length, folder).toBeGreaterThan(0);
  });
});
