import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { packageRoot } from "../../local-nats/cache-dir.js";
import { parse, UsageError } from "../args.js";

export const initUsage = `shoal init <dir> [--name NAME] [--shoal SPEC]

Scaffolds a TypeScript project that uses Shoal: package.json, tsconfig.json, one actor
(src/actors.ts), a client that calls it from outside the cluster (src/client.ts) and its tests
(test/actors.test.ts, on shoal/testing). Then: cd <dir> && npm install && npm test.

  --name NAME    the package name (default: the folder's name)
  --shoal SPEC   how the project depends on Shoal, as npm takes it: a version range, a path to
                 a packed tarball (shoal-0.1.0.tgz) or a folder (default: this Shoal's own
                 folder when it runs from a clone, else ^<its version>)

The folder must be empty or not exist yet.`;

/** Files whose text carries {{name}} and {{shoal}}. */
const FILLED = new Set(["package.json", "README.md"]);

/** Runs `shoal init`. */
export async function runInit(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { name: { type: "string" }, shoal: { type: "string" }, help: { type: "boolean", short: "h" } }, true);
  if (values.help) {
    console.log(initUsage);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("init takes exactly one <dir>");
  const dir = resolve(positionals[0]!);
  if (existsSync(dir) && (await readdir(dir)).length > 0) throw new UsageError(`${dir} is not empty`);
  const name =
    (values.name as string | undefined) ??
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-");
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new UsageError(`--name must be a valid npm package name, got ${JSON.stringify(name)}`);
  const root = packageRoot();
  if (root === undefined) throw new Error("cannot find the Shoal package this command belongs to");
  const shoal = dependencySpec((values.shoal as string | undefined) ?? defaultSpec(root));

  await mkdir(dir, { recursive: true });
  await cp(join(root, "templates", "project"), dir, { recursive: true });
  // npm leaves .gitignore and .npmrc out of packages, so the template names them without the dot.
  for (const dotfile of ["gitignore", "npmrc"]) await rename(join(dir, dotfile), join(dir, `.${dotfile}`));
  for (const file of FILLED) {
    const path = join(dir, file);
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replaceAll("{{name}}", name).replaceAll("{{shoal}}", shoal.replaceAll("\\", "\\\\")));
  }
  console.log(`created ${name} in ${dir} (shoal: ${shoal})

  cd ${relative(process.cwd(), dir) || "."}
  npm install
  npm test          # the actor in one process, then on a 2-node cluster (starts its own nats-server)`);
  return 0;
}

/** This Shoal: its folder when it runs from a clone, else its version from the registry. */
function defaultSpec(root: string): string {
  if (!root.split(sep).includes("node_modules")) return `file:${root}`;
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  return `^${version}`;
}

/** A tarball or folder path becomes a `file:` spec, absolute (the project may move; the tarball does not). */
function dependencySpec(spec: string): string {
  if (spec.startsWith("file:")) return `file:${resolve(spec.slice(5))}`;
  if (spec.endsWith(".tgz") || spec.startsWith(".") || spec.startsWith("/")) return `file:${resolve(spec)}`;
  return spec;
}
