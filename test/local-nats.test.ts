import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { localNats, natsCacheDir, packageRoot } from "../local-nats/index.js";

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe("natsCacheDir", () => {
  it("is $SHOAL_CACHE_DIR when set", () => {
    process.env.SHOAL_CACHE_DIR = "/somewhere/else";
    expect(natsCacheDir("/home/me/shoal")).toBe("/somewhere/else");
  });

  it("is the clone's .cache when Shoal runs from a clone", () => {
    delete process.env.SHOAL_CACHE_DIR;
    expect(natsCacheDir("/home/me/shoal")).toBe("/home/me/shoal/.cache/nats-server");
    expect(packageRoot()).toBe(fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, ""));
  });

  it("is a per-user cache when Shoal is installed in node_modules, never inside node_modules", () => {
    delete process.env.SHOAL_CACHE_DIR;
    delete process.env.XDG_CACHE_HOME;
    expect(natsCacheDir("/home/me/app/node_modules/shoal")).toBe(join(homedir(), ".cache", "shoal", "nats-server"));
    process.env.XDG_CACHE_HOME = "/xdg";
    expect(natsCacheDir("/home/me/app/node_modules/shoal")).toBe("/xdg/shoal/nats-server");
  });
});

describe("localNats", () => {
  it("uses NATS_URL as is and starts nothing", async () => {
    process.env.NATS_URL = "nats://example.invalid:4222";
    await using nats = await localNats();
    expect(nats.url).toBe("nats://example.invalid:4222");
    expect(nats.server).toBeUndefined();
  });
});
