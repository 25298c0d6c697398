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
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => (m[1] ?? m[2])!,
  );
}

/** Which top-level folder a relative import from `file` lands in. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return relative(root, join(file, "..", spec)).split(/[\\/]/)[0];
}

describe("layering (STYLE.md: cluster/ depends on src/, never the reverse)", () => {
  it("src/ imports nothing from cluster/, bin/, integration/ or bench/", () => {
    const offending = sources(join(root, "src")).flatMap((f) =>
      imports(f)
        .filter((s) => ["cluster", "bin", "integration", "bench"].includes(target(f, s) ?? ""))
        .map((s) => `${relative(root, f)} → ${s}`),
    );
    expect(offending).toEqual([]);
  });

  it("cluster/ imports nothing from bin/, integration/ or bench/", () => {
    const offending = sources(join(root, "cluster")).flatMap((f) =>
      imports(f)
        .filter((s) => ["bin", "integration", "bench"].includes(target(f, s) ?? ""))
        .map((s) => `${relative(root, f)} → ${s}`),
    );
    expect(offending).toEqual([]);
  });

  it("finds imports at all (the check is not vacuous)", () => {
    expect(imports(join(root, "src", "host.ts")).length).toBeGreaterThan(3);
    expect(target(join(root, "src", "x.ts"), "../cluster/a.js")).toBe("cluster");
  });
});
