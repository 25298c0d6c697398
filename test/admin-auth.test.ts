import { describe, expect, it } from "vitest";
import { AdminGuard, isLoopback } from "../cluster/http/admin-auth.js";

const TOKEN = "0123456789abcdef0123456789abcdef";
const local = { host: "127.0.0.1:8080" };

describe("AdminGuard (who may POST /admin/drain)", () => {
  it("with a token, wherever it listens: only Authorization: Bearer <that token>", () => {
    for (const host of ["127.0.0.1", "0.0.0.0", "10.1.2.3"]) {
      const g = new AdminGuard(host, TOKEN);
      expect(g.tokenRequired).toBe(true);
      expect(g.check({ ...local, authorization: `Bearer ${TOKEN}` })).toBeUndefined();
      expect(g.check({ ...local, authorization: `bearer  ${TOKEN} ` })).toBeUndefined();
      for (const authorization of [undefined, "", "Bearer", `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}0`, `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN} extra`]) {
        const refused = g.check({ ...local, authorization });
        expect(refused?.status, String(authorization)).toBe(401);
        expect(refused?.headers?.["WWW-Authenticate"]).toMatch(/^Bearer realm=/);
      }
    }
  });

  it("with a token, the Host and Origin do not matter (the token is the proof)", () => {
    const g = new AdminGuard("0.0.0.0", TOKEN);
    expect(g.check({ host: "shoal.example:443", origin: "https://ops.example", authorization: `Bearer ${TOKEN}` })).toBeUndefined();
  });

  it("without a token beyond loopback: refused with 403, saying how to enable the routes", () => {
    for (const host of ["0.0.0.0", "::", "192.0.2.2", "node-1.internal"]) {
      const refused = new AdminGuard(host).check(local);
      expect(refused?.status, host).toBe(403);
      expect(refused?.error).toContain(host);
      expect(refused?.error).toMatch(/--admin-token-file.*SHOAL_ADMIN_TOKEN.*Authorization: Bearer/);
    }
  });

  it("without a token on loopback: open to local, same-origin requests only", () => {
    const g = new AdminGuard("127.0.0.1");
    expect(g.tokenRequired).toBe(false);
    for (const host of ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.1"]) expect(g.check({ host }), host).toBeUndefined();
    expect(g.check({ host: "localhost:8080", origin: "http://localhost:8080" })).toBeUndefined();
    expect(g.check({ host: "localhost:8080", origin: "http://evil.example" })?.status).toBe(403);
    expect(g.check({ host: "localhost:8080", origin: "null" })?.status).toBe(403);
    for (const host of [undefined, "", "evil.example", "evil.example:8080", "192.0.2.2:8080"]) expect(g.check({ host })?.status, String(host)).toBe(403);
  });

  it("without a token on loopback: refuses what a reverse proxy forwarded", () => {
    const g = new AdminGuard("127.0.0.1");
    for (const h of [{ forwarded: "for=192.0.2.9" }, { "x-forwarded-for": "192.0.2.9" }, { "x-real-ip": "192.0.2.9" }]) {
      expect(g.check({ ...local, ...h })?.error, Object.keys(h)[0]).toMatch(/through a proxy.*--admin-token-file/);
    }
    expect(new AdminGuard("127.0.0.1", TOKEN).check({ ...local, "x-forwarded-for": "192.0.2.9", authorization: `Bearer ${TOKEN}` })).toBeUndefined();
  });
});

describe("isLoopback", () => {
  it("knows the loopback addresses and names", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST", "app.localhost"]) {
      expect(isLoopback(h), h).toBe(true);
    }
    for (const h of ["0.0.0.0", "::", "192.0.2.2", "10.0.0.1", "::2", "::ffff:10.0.0.1", "128.0.0.1", "localhost.example", "example.com", ""]) {
      expect(isLoopback(h), h).toBe(false);
    }
  });
});
