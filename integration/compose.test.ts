/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose wiring
 * (3 JetStream servers routed to each other, scalable R3 nodes, a cli profile), the image's
 * build steps against the README's, and what the image imports once dev dependencies are
 * pruned. Where an engine is reachable, one test builds and runs the whole thing.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compareVersions, dockerAvailable, MIN_NATS_VERSION, NATS_IMAGE, SERVER_SETTINGS, waitFor } from "./kit/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(resolve(root, path), "utf8");

interface Service {
  image?: string;
  build?: string | { context?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string> | string[];
  volumes?: string[];
  ports?: unknown[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
  stop_grace_period?: string;
  profiles?: string[];
  container_name?: string;
  restart?: string;
  configs?: Array<{ source: string; target: string }>;
}
const compose = parse(read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { file?: string }>;
};
const services = compose.services;
const natsNames = Object.keys(services)
  .filter((n) => services[n]!.image?.startsWith("nats:"))
  .sort();
const node = services.node!;
const cli = services.cli!;

/** The value after `name` in an argument list. */
const flag = (args: string[] | undefined, ...names: string[]) => {
  const i = (args ?? []).findIndex((a) => names.includes(a));
  return i < 0 ? undefined : args![i + 1];
};
const env = (s: Service): Record<string, string> =>
  Array.isArray(s.environment) ? Object.fromEntries(s.environment.map((e) => e.split(/=(.*)/s).slice(0, 2))) : { ...s.environment };
const healthTest = (s: { healthcheck?: Service["healthcheck"] }) => [s.healthcheck?.test ?? []].flat().join(" ");
const buildContext = (s: Service) => (typeof s.build === "string" ? s.build : s.build?.context);
/** "45s", "1m30s", "500ms" → ms. */
function durationMs(d: string): number {
  let ms = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1e3, m: 6e4, h: 36e5 }[unit as "ms"];
  return ms;
}

describe("docker-compose.yml: the NATS cluster", () => {
  it("has three JetStream servers on the official image, pinned to a tag >= 2.12", () => {
    expect(natsNames).toEqual(["nats1", "nats2", "nats3"]);
    for (const name of natsNames) {
      const { image, command } = services[name]!;
      const tag = /^nats:(\d+\.\d+\.\d+)(-alpine[\d.]*)?$/.exec(image!);
      expect(tag, `${name}: ${image} is not a concrete nats:X.Y.Z tag`).not.toBeNull();
      expect(compareVersions(tag![1]!, MIN_NATS_VERSION)).toBeGreaterThanOrEqual(0);
      expect(image, "one pinned version across the repo: the kit's NATS_IMAGE").toBe(NATS_IMAGE);
      expect(command).toEqual(expect.arrayContaining([expect.stringMatching(/^(-js|--jetstream)$/)]));
    }
  });

  it("routes each server to the other two, with distinct server names and one cluster name", () => {
    const clusterPort = (name: string) => new URL(flag(services[name]!.command, "--cluster")!).port;
    for (const name of natsNames) {
      const routes = flag(services[name]!.command, "--routes")!
        .split(",")
        .map((r) => new URL(r.trim()));
      const others = natsNames.filter((n) => n !== name);
      expect(routes.map((u) => u.hostname).sort(), name).toEqual(others);
      for (const u of routes) expect(u.port, `${name} → ${u.hostname}`).toBe(clusterPort(u.hostname));
    }
    const serverNames = natsNames.map((n) => flag(services[n]!.command, "--server_name", "-n"));
    expect(new Set(serverNames).size).toBe(3);
    expect(new Set(natsNames.map((n) => flag(services[n]!.command, "--cluster_name"))).size).toBe(1);
  });

  it("keeps each server's JetStream store in its own named volume", () => {
    const used = natsNames.map((name) => {
      const s = services[name]!;
      const storeDir = flag(s.command, "-sd", "--store_dir");
      const mount = s.volumes?.map((v) => v.split(":")).find(([, target]) => target === storeDir);
      expect(mount, `${name}: no volume on ${storeDir}`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(mount![0]);
      return mount![0];
    });
    expect(new Set(used).size).toBe(3);
  });

  it("health-checks each server's /healthz on its monitoring port, with a wget the image has", () => {
    for (const name of natsNames) {
      const s = services[name]!;
      expect(healthTest(s)).toContain(`:${flag(s.command, "-m", "--http_port")}/healthz`);
      if (healthTest(s).includes("wget")) expect(s.image, "the plain nats tag is FROM scratch").toMatch(/-alpine/);
    }
  });

  it("gives each server the settings the kit's servers have (a silent client dropped within seconds)", () => {
    const file = compose.configs?.["nats-conf"]?.file;
    expect(file).toBe("./docker/nats.conf");
    const conf = read("docker/nats.conf");
    const settings = Object.fromEntries([...conf.matchAll(/^\s*([a-z_]+)\s*:\s*"?([^"\n]+)"?\s*$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(settings).toEqual(Object.fromEntries(Object.entries(SERVER_SETTINGS).map(([k, v]) => [k, String(v)])));
    for (const name of natsNames) {
      const s = services[name]!;
      const mounted = s.configs?.find((c) => c.source === "nats-conf")?.target;
      expect(mounted, name).toBeDefined();
      expect(flag(s.command, "-c", "--config"), name).toBe(mounted);
    }
  });
});

describe("docker-compose.yml: the shoal services", () => {
  const nodeEnv = env(node);

  it("builds node from the Dockerfile and lets it scale: no container_name, no published ports, id from the hostname", () => {
    expect(buildContext(node)).toBe(".");
    expect(node.container_name).toBeUndefined();
    expect(node.ports ?? []).toEqual([]);
    expect(nodeEnv.SHOAL_NODE_ID).toBeUndefined();
    expect(flag(node.command, "--id")).toBeUndefined();
    expect(node.restart, "a drained node exits 0 and must stay down").not.toBe("always");
  });

  it("points every node at all three servers, R3, once they are healthy", () => {
    const urls = nodeEnv.SHOAL_NATS_URL!.split(",").map((u) => new URL(u.trim()));
    expect(urls.map((u) => u.hostname).sort()).toEqual(natsNames);
    for (const u of urls) expect(u.port || "4222").toBe(flag(services[u.hostname]!.command, "-p", "--port") ?? "4222");
    expect(nodeEnv.SHOAL_REPLICAS).toBe("3");
    expect(nodeEnv.SHOAL_CLUSTER).toMatch(/^[A-Za-z0-9_-]+$/);
    for (const n of natsNames) expect(node.depends_on?.[n]?.condition).toBe("service_healthy");
  });

  it("health-checks /healthz on SHOAL_HTTP_PORT and gives a drain time to finish before SIGKILL", () => {
    expect(nodeEnv.SHOAL_HTTP_PORT).toMatch(/^\d+$/);
    expect(healthTest(node)).toMatch(/\/healthz/);
    expect(healthTest(node)).toMatch(new RegExp(`SHOAL_HTTP_PORT|:${nodeEnv.SHOAL_HTTP_PORT}/`));
    const drain = Number(nodeEnv.SHOAL_DRAIN_TIMEOUT ?? 30_000);
    // Past the drain timeout the node still flushes the replies it owes and closes its connection.
    expect(durationMs(node.stop_grace_period ?? "10s")).toBeGreaterThanOrEqual(drain + 5_000);
  });

  it("has a cli service under a profile: same image, the shoal entrypoint, the same cluster", () => {
    expect(cli.profiles?.length).toBeGreaterThan(0);
    expect(buildContext(cli)).toBe(buildContext(node));
    expect(cli.entrypoint?.join(" ")).toMatch(/bin\/shoal\.js$/);
    expect(env(cli).SHOAL_NATS_URL).toBe(nodeEnv.SHOAL_NATS_URL);
    expect(env(cli).SHOAL_CLUSTER).toBe(nodeEnv.SHOAL_CLUSTER);
  });
});

interface Instruction {
  op: string;
  args: string;
  stage: number;
}
/** Dockerfile → instructions (continuations joined, comments dropped), each with its stage. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let line = "";
  let stage = -1;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*#/.test(raw)) continue;
    line += raw.replace(/\\\s*$/, " ");
    if (/\\\s*$/.test(raw)) continue;
    const m = /^\s*(\w+)\s+(.*)$/.exec(line);
    line = "";
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === "FROM") stage++;
    out.push({ op, args: m[2]!.trim(), stage });
  }
  return out;
}
/** The shell commands of a RUN, split on && and ;, without --mount style options. */
const commandsOf = (run: string) =>
  run
    .replace(/^(--\S+\s+)+/, "")
    .split(/&&|;/)
    .map((c) => c.trim().replace(/\s+/g, " "));

describe("Dockerfile", () => {
  const steps = parseDockerfile(read("Dockerfile"));
  const last = Math.max(...steps.map((s) => s.stage));
  const build = steps.filter((s) => s.stage === 0);
  const runtime = steps.filter((s) => s.stage === last);
  const builds = build.filter((s) => s.op === "RUN").flatMap((s) => commandsOf(s.args));

  it("builds with the README's install step, on a pinned node image matching engines.node", () => {
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(read("README.md"))?.[1] ?? "";
    const readmeSteps = quickStart
      .split("\n")
      .flatMap((l) => l.replace(/#.*/, "").split("&&"))
      .map((c) => c.trim())
      .filter((c) => /^npm (ci|install|run build)\b/.test(c));
    expect(readmeSteps.length).toBeGreaterThan(0);
    for (const step of new Set(readmeSteps)) expect(builds).toContain(step);
    // `npm ci` compiles through `prepare`: the sources must be in place before it, its scripts on.
    const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string>; engines: { node: string } };
    expect(pkg.scripts.prepare).toMatch(/\btsc\b/);
    const ci = build.findIndex((s) => s.op === "RUN" && commandsOf(s.args).includes("npm ci"));
    expect(build.slice(0, ci).some((s) => s.op === "COPY" && /(^|\s)\.\s+\S+$|\bsrc\b/.test(s.args))).toBe(true);
    expect(builds).toContain("npm prune --omit=dev");
    for (const from of steps.filter((s) => s.op === "FROM")) {
      const version = /^node:(\d+)\.(\d+)(?:\.\d+)?-bookworm-slim\b/.exec(from.args);
      expect(version, from.args).not.toBeNull();
      expect(Number(version![1])).toBeGreaterThanOrEqual(Number(/\d+/.exec(pkg.engines.node)![0]));
    }
  });

  it("ships dist, bin, node_modules and package.json, and runs bin/shoal.js as a non-root user", () => {
    const copied = runtime.filter((s) => s.op === "COPY" && s.args.startsWith("--from=")).map((s) => s.args.split(/\s+/).at(-2));
    for (const p of ["/app/dist", "/app/node_modules", "/app/package.json"]) expect(copied).toContain(p);
    expect(copied.some((p) => p?.startsWith("/app/bin"))).toBe(true);
    const user = runtime.filter((s) => s.op === "USER").at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(JSON.parse(runtime.find((s) => s.op === "ENTRYPOINT")!.args)).toEqual(["node", "bin/shoal.js"]);
    expect(JSON.parse(runtime.find((s) => s.op === "CMD")!.args)).toEqual(["node"]);
    expect(runtime.find((s) => s.op === "HEALTHCHECK")?.args).toMatch(/SHOAL_HTTP_PORT[\s\S]*\/healthz/);
    expect(runtime.find((s) => s.op === "EXPOSE")?.args.split(/\s+/)).toContain(env(node).SHOAL_HTTP_PORT);
  });

  it("keeps build outputs out of the context but every compiled source in", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", "dist", ".cache", ".git"]));
    const tsconfig = ts.parseConfigFileTextToJson("tsconfig.json", read("tsconfig.json")).config as { include: string[] };
    for (const needed of [...tsconfig.include, "tsconfig.json", "package.json", "package-lock.json", "bin"]) {
      expect(
        ignored.some((pattern) => needed === pattern || needed.startsWith(`${pattern}/`)),
        needed,
      ).toBe(false);
    }
  });

  it("runs on production dependencies alone: nothing the CLI imports is pruned (the self-link included)", () => {
    const entry = resolve(root, "bin/shoal.js");
    expect(existsSync(resolve(root, "dist/bin/main.js")), "build first: npm run build").toBe(true);
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain("shoal");
    expect(builds.some((c) => /test ! -e node_modules\/shoal/.test(c))).toBe(true);
    const packages = new Set<string>();
    const seen = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      // Static imports only: a dynamic import() (testcontainers in the kit) is loaded on demand.
      const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
      for (const st of source.statements) {
        const spec =
          (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)
            ? st.moduleSpecifier.text
            : undefined;
        if (spec === undefined) continue;
        if (spec.startsWith(".")) queue.push(resolve(dirname(file), spec));
        else if (!spec.startsWith("node:") && !builtinModules.includes(spec))
          packages.add(
            spec
              .split("/")
              .slice(0, spec.startsWith("@") ? 2 : 1)
              .join("/"),
          );
      }
    }
    expect(seen.size).toBeGreaterThan(10);
    for (const p of packages) expect(Object.keys(pkg.dependencies), `the image imports ${p}`).toContain(p);
  });
});

const dockerReachable = (await dockerAvailable()) && composeCli();
function composeCli(): boolean {
  try {
    execFileSync("docker", ["compose", "version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("docker compose, for real", () => {
  const title = `builds the image and runs a 3+3 cluster, sends through the cli, scales down gracefully${
    dockerReachable ? "" : " (skipped: no Docker engine reachable)"
  }`;
  it.skipIf(!dockerReachable)(
    title,
    async () => {
      const project = `shoal-compose-test-${process.pid}`;
      const dc = async (...args: string[]) =>
        (
          await promisify(execFile)("docker", ["compose", "-p", project, "-f", resolve(root, "docker-compose.yml"), ...args], {
            cwd: root,
            maxBuffer: 64 << 20,
          })
        ).stdout;
      const healthyNodes = async () =>
        (await dc("ps", "--format", "json", "node"))
          .trim()
          .split("\n")
          .filter(Boolean)
          .flatMap((l) => [JSON.parse(l) as { State: string; Health: string }].flat())
          .filter((c) => c.State === "running" && c.Health === "healthy").length;
      const send = async (msg: object) =>
        JSON.parse((await dc("run", "--rm", "cli", "ask", "account", "alice", JSON.stringify(msg))).trim().split("\n").at(-1)!);
      try {
        await dc("--profile", "tools", "build");
        await dc("up", "-d", "--scale", "node=3");
        await waitFor(async () => (await healthyNodes()) === 3, { timeout: 240_000, interval: 2_000, message: "3 healthy node replicas" });
        expect(await send({ deposit: { amount: 5, txn: "t-1" } })).toMatchObject({ balance: 5, applied: true });
        await dc("up", "-d", "--scale", "node=2"); // SIGTERM: the third drains its shards away
        expect(await healthyNodes()).toBe(2);
        expect(await send({ balance: {} })).toMatchObject({ balance: 5 });
      } finally {
        await dc("down", "-v", "--remove-orphans").catch(() => undefined);
      }
    },
    900_000,
  );
});
