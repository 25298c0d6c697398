import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, nkeys, PermissionViolationError, RequestError, type Msg, type NatsConnection, type Status } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeToken } from "../src/codec/token.js";
import { ShoalClient } from "../src/client.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { keepAliveKey } from "../src/nats-names.js";
import { shardOf } from "../src/routing/shard-hash.js";
import { decodeMap } from "../src/routing/shard-map.js";
import { BEACONS } from "./fixtures/beacons.js";
import type { ClusterView } from "../cluster/http/server.js";
import { freePorts, NodeProcess, startNatsServer, waitFor, waitSettled, type RunningServer } from "./kit/index.js";
import { activations, Journals, LIFE_ACTORS } from "./life.js";

/**
 * The permission sets of docs/SECURITY.md, pasted into a real nats-server: nodes work with the
 * node set alone (keep-alive actors and singletons included: the nodes host the test types of
 * integration/fixtures/beacons.ts), and an ingress-only client can ask but write nothing else. Also each kind of
 * authentication the `shoal` command takes: user/password, token, nkey seed, TLS with a CA.
 */

const bin = fileURLToPath(new URL("../bin/shoal.js", import.meta.url));
const cluster = "sec";
const shards = 16;
const passwords = { node: "node-pw-1", client: "client-pw-2", operator: "operator-pw-3", admin: "admin-pw-4" };
const nodeTiming = ["--shards", String(shards), "--heartbeat", "400", "--member-ttl", "1500", "--leader-ttl", "1500"];
const te = new TextEncoder();

/** The blocks between the permission markers of docs/SECURITY.md, for cluster `name`. */
function documentedPermissions(name: string): string {
  const doc = readFileSync(new URL("../docs/SECURITY.md", import.meta.url), "utf8");
  const begin = doc.indexOf("<!-- begin permissions");
  const end = doc.indexOf("<!-- end permissions -->");
  expect(begin, "docs/SECURITY.md has the permission markers").toBeGreaterThan(0);
  const blocks = [...doc.slice(begin, end).matchAll(/```conf\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(4);
  return blocks.join("\n").replaceAll("BANK", name.toUpperCase()).replaceAll("bank", name);
}

/** Starts the `shoal` command; `done` resolves with its exit code and output (killed after `timeoutMs`). */
function startShoal(args: string[], timeoutMs = 15_000) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SHOAL_LOG_LEVEL: "warn" } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = once(child, "exit").then(([code]) => {
    clearTimeout(timer);
    return { code: code as number | null, out, err };
  });
  return { done, err: () => err };
}

const shoal = (args: string[]) => startShoal(args).done;

/** Collects what a connection reports on its status iterator. */
function statusLog(nc: NatsConnection): Status[] {
  const seen: Status[] = [];
  void (async () => {
    for await (const s of nc.status()) seen.push(s);
  })();
  return seen;
}

const violations = (log: Status[]) => log.flatMap((s) => (s.type === "error" && s.error instanceof PermissionViolationError ? [s.error] : []));

describe("documented permission sets on an auth-enabled nats-server", () => {
  let server: RunningServer;
  let dir: string;
  let admin: NatsConnection;
  let client: NatsConnection;
  let adminJsm: JetStreamManager;
  const nodes: NodeProcess[] = [];
  /** s1's HTTP port: its GET /cluster reads the projections with the node set. */
  let httpPort = 0;
  const nodeAuth = ["--user", "sec-node", "--password", passwords.node];
  /** The operator's connection flags, and a `shoal` command run with them. */
  const operatorArgs = () => ["--nats", server.url, "--cluster", cluster, "--user", "sec-operator", "--password", passwords.operator];
  const asOperator = (...args: string[]) => shoal([...args, ...operatorArgs()]);
  const logFile = () => join(dir, "nats.log");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "shoal-sec-"));
    server = await startNatsServer({
      config: [
        `log_file: ${JSON.stringify(logFile())}`,
        `SHOAL_NODE_PASSWORD: ${JSON.stringify(passwords.node)}`,
        `SHOAL_CLIENT_PASSWORD: ${JSON.stringify(passwords.client)}`,
        `SHOAL_OPERATOR_PASSWORD: ${JSON.stringify(passwords.operator)}`,
        // `admin` (no permissions: everything) only observes, to prove the denied writes had no effect.
        documentedPermissions(cluster).replace("users = [", `users = [\n    { user: "admin", password: ${JSON.stringify(passwords.admin)} }`),
      ].join("\n"),
    });
    [httpPort] = (await freePorts(1)) as [number];
    for (const id of ["s1", "s2"]) {
      const http = id === "s1" ? ["--http", String(httpPort)] : [];
      nodes.push(NodeProcess.start({ url: server.url, id, cluster, args: [...nodeTiming, ...nodeAuth, ...http, "--actors", LIFE_ACTORS] }));
    }
    admin = await connect({ servers: server.url, user: "admin", pass: passwords.admin });
    adminJsm = await jetstreamManager(admin);
    client = await connect({ servers: server.url, user: "sec-client", pass: passwords.client });
    await Promise.all(nodes.map((n) => n.waitForLog("node ready")));
    // The client's optional status permission is enough to watch the cluster settle.
    await waitSettled(client, cluster, ["s1", "s2"], shards);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await client?.close();
    await admin?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("nodes work with the node set alone, and an ingress-only client asks through either node", async () => {
    const ask = new ShoalClient(client, cluster);
    const served = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await ask.ask<{ balance: number; node: string }>("account", `acct-${i}`, { deposit: { amount: i + 1, txn: `t-${i}` } });
      expect(r.balance).toBe(i + 1);
      served.add(r.node);
    }
    // Both nodes ran turns: asks were forwarded node to node, events appended to the journal.
    expect([...served].sort()).toEqual(["s1", "s2"]);
    const info = await adminJsm.streams.info(`SHOAL_EVENTS_${cluster}`, { subjects_filter: `shoal.${cluster}.journal.account.>` });
    expect(Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0)).toBe(12);
  });

  it("a node's GET /cluster reads the projections (the dashboard's panel) with the node set alone", async () => {
    let last = "no answer yet";
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/cluster`);
        const view = (await r.json()) as ClusterView;
        last = JSON.stringify(view.projections);
        const balances = view.projections?.find((p) => p.name === "account-balances");
        return r.ok && balances?.builds[0]?.partitions.length === 4;
      },
      { timeout: 15_000, interval: 200, message: "account-balances in s1's GET /cluster" },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: its projections were ${last}`, { cause: err });
    });
  });

  /** A keep-alive pulse whose shard s2 owns (s2 dies below: s1 must list and start it then). */
  let pulseOnS2 = "";

  it("nodes record keep-alive actors and start singletons with the node set alone; the operator set sees the singletons", async () => {
    const map = decodeMap((await (await new Kvm(admin).open(`shoal-map-${cluster}`)).get("map"))!.value)!;
    pulseOnS2 = Array.from({ length: 100 }, (_, i) => `pulse-${i}`).find((id) => map.owners[shardOf("pulse", id, shards)] === "s2")!;
    await new ShoalClient(client, cluster).ask("pulse", pulseOnS2, { read: {} });
    const bucket = await new Kvm(admin).open(`shoal-keepalive-${cluster}`);
    const key = keepAliveKey(shardOf("pulse", pulseOnS2, shards), { type: "pulse", id: pulseOnS2 });
    await waitFor(async () => (await bucket.get(key))?.operation === "PUT", { timeout: 5000, message: `no record ${key}` });
    const r = await asOperator("status", "--json");
    const st = JSON.parse(r.out) as { singletons: Array<{ nodes: string[] }> };
    expect(st.singletons).toHaveLength(BEACONS);
    expect(st.singletons.every((g) => g.nodes.length === 1)).toBe(true);
  });

  it("the operator set runs `shoal reminders list`", async () => {
    const r = await asOperator("reminders", "list", "account", "acct-0");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe("no reminders");
  });

  it("the operator set runs `shoal inspect`", async () => {
    const r = await asOperator("inspect", "account", "acct-3", "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.out) as { version: number; snapshot: unknown; replay: number; events: Array<{ version: number; event: unknown }> };
    expect(shown).toMatchObject({ version: 1, snapshot: null, replay: 1 });
    expect(shown.events).toEqual([{ version: 1, event: { deposited: { amount: 4, txn: "t-3" } } }]);
    // Its state now, folded by its owner (asked on the admin subject).
    expect((shown as unknown as { state: unknown }).state).toMatchObject({ node: expect.stringMatching(/^s[12]$/), version: 1, state: { balance: 4 } });
    const text = await asOperator("inspect", "account", "acct-3");
    expect(text.out).toMatch(/^state {6}version 1, (in memory|loaded) on s[12]/m);
  });

  it("the operator set runs `shoal status`", async () => {
    const r = await asOperator("status", "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const st = JSON.parse(r.out) as { leader: string; nodes: Array<{ id: string; shards: number; reachable: boolean }> };
    expect(["s1", "s2"]).toContain(st.leader);
    expect(st.nodes.map((n) => [n.id, n.shards, n.reachable])).toEqual([
      ["s1", shards / 2, true],
      ["s2", shards / 2, true],
    ]);
  });

  it("the operator set runs `shoal view`, `shoal projection status`, `shoal dlq list` and `shoal replay actor`", async () => {
    // The nodes run the built-in account-balances with the node set alone: the view fills in.
    await waitFor(async () => (await asOperator("view", "account-balances", "acct-3", "--json")).code === 0, { timeout: 15_000, interval: 100 });
    const view = await asOperator("view", "account-balances", "acct-3", "--json");
    expect(view.err).toBe("");
    expect(JSON.parse(view.out)).toMatchObject({ key: "acct-3", value: { balance: 4, version: 1 }, build: 1 });
    const st = await asOperator("projection", "status", "--json");
    expect(st.err).toBe("");
    const reports = JSON.parse(st.out) as Array<{ name: string; builds: Array<{ partitions: Array<{ owner: string }> }> }>;
    expect(reports.map((p) => p.name)).toEqual(["account-balances"]);
    expect(reports[0]!.builds[0]!.partitions.every((p) => ["s1", "s2"].includes(p.owner))).toBe(true);
    expect(await asOperator("dlq", "list")).toMatchObject({ code: 0, err: "", out: "no dead letters\n" });
    const replay = await asOperator("replay", "actor", "account", "acct-3", "--drop-snapshot", "--json");
    expect(replay.err).toBe("");
    expect(JSON.parse(replay.out)).toMatchObject({ actor: { type: "account", id: "acct-3" }, version: 1 });
  });

  it("an ingress-only client cannot write the journal, a KV key, an event, a node's inbox or reply inbox, or call the JetStream API", async () => {
    const log = statusLog(client);
    const marker = `intruder-${process.pid}-${Date.now()}`;
    const journalSubject = `shoal.${cluster}.journal.account.${encodeToken("acct-0")}`;
    const targets = {
      journal: journalSubject,
      map: `$KV.shoal-map-${cluster}.map`,
      rpc: `shoal.${cluster}.node.${encodeToken("s1")}.rpc`,
      // A forged reply batch into a node's reply inbox would answer its open calls.
      replies: `shoal.${cluster}.node.${encodeToken("s1")}.re.1`,
      events: `shoal.${cluster}.events`,
    };
    // What is there before, as the admin sees it.
    const mapKv = await new Kvm(admin).open(`shoal-map-${cluster}`);
    const mapBefore = (await mapKv.get("map"))!.revision;
    const journalBefore = (await adminJsm.streams.info(`SHOAL_EVENTS_${cluster}`)).state.last_seq;
    const seenByAdmin: Msg[] = [];
    for (const subject of Object.values(targets)) admin.subscribe(subject, { callback: (_e, m) => void seenByAdmin.push(m) });
    await admin.flush();

    for (const subject of Object.values(targets)) client.publish(subject, te.encode(JSON.stringify({ type: "map.published", marker })));
    // A JetStream API call: denied; nats.js fails the request at once, a RequestError caused by the violation.
    const jsm = await jetstreamManager(client, { checkAPI: false });
    const api = await jsm.streams.info(`SHOAL_EVENTS_${cluster}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(api).toBeInstanceOf(RequestError);
    expect((api as RequestError).cause).toBeInstanceOf(PermissionViolationError);
    // Nor can it serve the ingress (and so steal asks).
    const steal = client.subscribe(`shoal.${cluster}.ask`, { queue: `shoal-${cluster}-ingress` });
    const stolen = (async () => {
      for await (const _m of steal) return "got a message";
      return "ended";
    })().catch((e: unknown) => e);
    await client.flush();

    const expected = [
      ...Object.values(targets).map((s) => ["publish", s]),
      ["publish", `$JS.API.STREAM.INFO.SHOAL_EVENTS_${cluster}`],
      ["subscription", `shoal.${cluster}.ask`],
    ];
    await waitFor(() => violations(log).length >= expected.length, {
      timeout: 5_000,
      message: `only these violations were reported: ${JSON.stringify(violations(log).map((v) => v.message))}`,
    });
    expect(
      violations(log)
        .map((v) => [v.operation, v.subject])
        .sort(),
    ).toEqual(expected.sort());
    expect(violations(log).find((v) => v.operation === "subscription")!.queue).toBe(`shoal-${cluster}-ingress`);
    expect(violations(log)[0]!.message).toMatch(/^Permissions Violation for Publish to "shoal\.sec\.journal\.account\./);
    // The denied subscription is ended with the violation.
    expect(await stolen).toBeInstanceOf(PermissionViolationError);
    // The connection stays up: nothing else is reported, asks still work.
    expect(log.filter((s) => s.type !== "error").map((s) => s.type)).toEqual([]);

    // No effect anywhere.
    await admin.flush();
    expect(seenByAdmin.filter((m) => m.string().includes(marker)).map((m) => m.subject)).toEqual([]);
    expect((await mapKv.get("map"))!.revision).toBe(mapBefore);
    expect((await adminJsm.streams.info(`SHOAL_EVENTS_${cluster}`)).state.last_seq).toBe(journalBefore);
    const r = await new ShoalClient(client, cluster).ask<{ balance: number }>("account", "acct-0", { balance: {} });
    expect(r.balance).toBe(1);
    // An ask this user may not publish fails at once with the violation, not after its 60 s timeout.
    const elsewhere = new ShoalClient(client, `${cluster}x`, { timeout: 60_000 });
    const refused = await elsewhere.ask("account", "acct-0", { balance: {} }).catch((e: unknown) => e);
    elsewhere.close();
    expect(ShoalError.is(refused, ErrorCode.UNAVAILABLE), String(refused)).toBe(true);
    expect(String(refused)).toMatch(new RegExp(`Permissions Violation for Publish to "shoal\\.${cluster}x\\.ask"`));
    // Replies to an inbox it may not subscribe to: the ask fails at once too, and so does the next (subscribing anew).
    const outside = await connect({ servers: server.url, user: "sec-client", pass: passwords.client, inboxPrefix: "_NOT_ALLOWED" });
    try {
      const deaf = new ShoalClient(outside, cluster, { timeout: 60_000 });
      for (let i = 0; i < 2; i++) {
        const err = await deaf.ask("account", "acct-0", { balance: {} }).catch((e: unknown) => e);
        expect(ShoalError.is(err, ErrorCode.UNAVAILABLE), String(err)).toBe(true);
        expect(String(err)).toMatch(/Permissions Violation for Subscription to "_NOT_ALLOWED\./);
      }
    } finally {
      await outside.close();
    }
  });

  it("nodes replay from the journal when one dies, and the operator set runs `shoal watch`", async () => {
    const watch = startShoal(["watch", "--count", "1", ...operatorArgs()]);
    await waitFor(() => watch.err().includes("watching"), { timeout: 5_000, message: `shoal watch did not start: ${watch.err()}` });
    await nodes[1]!.kill();
    await waitSettled(client, cluster, ["s1"], shards);
    // s1 listed s2's keep-alive actors and started them, and runs every singleton.
    const journals = await Journals.open(admin, cluster);
    try {
      await waitFor(async () => activations(await journals.of("pulse", pulseOnS2)).at(-1)?.node === "s1", {
        timeout: 10_000,
        message: "s1 did not start s2's pulse",
      });
    } finally {
      await journals.close();
    }
    // s1 now hosts every account, rebuilt from the journal (direct gets) for those s2 had.
    const ask = new ShoalClient(client, cluster);
    for (let i = 0; i < 12; i++) {
      const r = await ask.ask<{ balance: number; node: string }>("account", `acct-${i}`, { balance: {} });
      expect([r.node, r.balance]).toEqual(["s1", i + 1]);
    }
    const w = await watch.done;
    expect(w.err).toMatch(/^watching shoal\.sec\.events on .*\n$/);
    expect(w.code).toBe(0);
    expect(w.out).toMatch(/\S/);
  });

  it("the operator set runs `shoal pin set`, `list` and `rm`; the nodes apply the pin with the node set alone", async () => {
    const set = await asOperator("pin", "set", "account", "acme", "--node", "s1");
    expect(set.err).toBe("");
    expect(set.code).toBe(0);
    await waitFor(
      async () => {
        const r = await asOperator("pin", "list", "--json");
        return r.code === 0 && (JSON.parse(r.out) as Array<{ applied: boolean }>)[0]?.applied === true;
      },
      { timeout: 10_000, message: "the pin was not applied" },
    );
    const rm = await asOperator("pin", "rm", "account", "acme");
    expect(rm.code).toBe(0);
    expect((await asOperator("pin", "list")).out.trim()).toBe("no pins");
  });

  it("the server logged violations of the client only: none of a node or the operator", () => {
    const lines = readFileSync(logFile(), "utf8")
      .split("\n")
      .filter((l) => /violation/i.test(l));
    expect(lines.filter((l) => l.includes("sec-node") || l.includes("sec-operator"))).toEqual([]);
    expect(lines.filter((l) => l.includes("sec-client")).length).toBeGreaterThanOrEqual(6);
  });

  it("`shoal send` with a wrong password is refused with exit 1, naming the URL", async () => {
    const r = await shoal(["ask", "account", "a", '{"balance":{}}', "--nats", server.url, "--cluster", cluster, "--user", "sec-client", "--password", "wrong"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot reach NATS at ${server.url}: the server refused the credentials`);
    expect(r.err).toMatch(/Authorization Violation/i);
  });
});

describe("other kinds of NATS authentication", () => {
  const dirs: string[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** One node on `url` with `auth` flags, then `shoal send` with `sendAuth`: the reply. */
  async function nodeAndSend(url: string, name: string, auth: string[], sendAuth = auth) {
    const node = NodeProcess.start({ url, id: `${name}-1`, cluster: name, args: ["--shards", "8", ...auth] });
    cleanup.push(() => node.kill());
    await node.waitForLog("node ready");
    return shoal(["ask", "account", "x", '{"deposit":{"amount":2,"txn":"t"}}', "--nats", url, "--cluster", name, ...sendAuth]);
  }

  it("an ingress client whose permissions predate batches falls back to single requests once refused", async () => {
    // The documented sets, the ingress one without the batch subject, as an older deployment has it.
    const perms = documentedPermissions("old")
      .replace(/authorization \{[\s\S]*$/, "")
      .replace(/(SHOAL_INGRESS_OLD = \{[\s\S]*?)\n[^\n]*"shoal\.old\.node\.\*\.asks"[^\n]*/, "$1");
    expect(perms.match(/SHOAL_INGRESS_OLD = \{[\s\S]*?\n\}/)![0]).not.toContain(".asks");
    expect(perms.match(/SHOAL_NODE_OLD = \{[\s\S]*?\n\}/)![0]).toContain(".asks");
    const server = await startNatsServer({
      config: `${perms}
authorization { users = [
  { user: "old-node", password: "n", permissions: $SHOAL_NODE_OLD }
  { user: "old-client", password: "c", permissions: $SHOAL_INGRESS_OLD }
  { user: "old-operator", password: "o", permissions: $SHOAL_OPERATOR_OLD }
] }`,
    });
    cleanup.push(() => server.stop());
    const node = NodeProcess.start({ url: server.url, id: "old-1", cluster: "old", args: ["--shards", "8", "--user", "old-node", "--password", "n"] });
    cleanup.push(() => node.kill());
    await node.waitForLog("node ready");
    const nc = await connect({ servers: server.url, user: "old-client", pass: "c" });
    cleanup.push(() => nc.close());
    const log = statusLog(nc);
    const client = new ShoalClient(nc, "old");
    const round = (tag: string) =>
      Promise.all(Array.from({ length: 12 }, (_, i) => client.ask<{ balance: number }>("account", `a-${i}`, { deposit: { amount: 1, txn: `${tag}-${i}` } })));
    // Until the client has the map its calls go through the shared subject; then to the owner.
    await waitFor(async () => (await round(`w${Date.now()}`)).length === 12 && violations(log).length > 0, {
      timeout: 10_000,
      message: "the client never tried a batch",
    });
    const refused = violations(log).length;
    expect(violations(log).every((v) => v.subject === `shoal.old.node.${encodeToken("old-1")}.asks`)).toBe(true);
    // Once refused, no more batches: every call answered, no new violation.
    const answers = await round("after");
    expect(answers.every((a) => a.balance >= 1)).toBe(true);
    await nc.flush();
    expect(violations(log).length).toBe(refused);
  });

  it("token: --token", async () => {
    const server = await startNatsServer({ config: `authorization { token: "tok-${process.pid}" }` });
    cleanup.push(() => server.stop());
    const r = await nodeAndSend(server.url, "tok", ["--token", `tok-${process.pid}`]);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out)).toMatchObject({ balance: 2, node: "tok-1" });
    const bad = await shoal(["ask", "account", "x", '{"balance":{}}', "--nats", server.url, "--cluster", "tok", "--token", "nope"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`cannot reach NATS at ${server.url}: the server refused the credentials`);
  });

  it("nkey: --nkey-seed FILE, with the documented sets tightened to per-user inbox prefixes (--inbox-prefix)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-nkey-"));
    dirs.push(dir);
    const keys = { node: nkeys.createUser(), client: nkeys.createUser(), operator: nkeys.createUser() };
    const seedFile = (k: keyof typeof keys) => {
      const f = join(dir, `${k}.nk`);
      writeFileSync(f, `${new TextDecoder().decode(keys[k].getSeed())}\n`, { mode: 0o600 });
      return f;
    };
    // As docs/SECURITY.md suggests: `_INBOX.>` replaced by a prefix of each user's own.
    const perms = documentedPermissions("nk")
      .replace(/authorization \{[\s\S]*$/, "")
      .replace(/(SHOAL_NODE_NK = \{[\s\S]*?)"_INBOX\.>"/, '$1"_INBOX_nk_node.>"')
      .replace(/(SHOAL_INGRESS_NK = \{[\s\S]*?)"_INBOX\.>"/, '$1"_INBOX_nk_client.>"');
    expect(perms).not.toMatch(/"_INBOX\.>"[\s\S]*SHOAL_OPERATOR_NK/);
    const server = await startNatsServer({
      config: `${perms}
authorization { users = [
  { nkey: "${keys.node.getPublicKey()}", permissions: $SHOAL_NODE_NK }
  { nkey: "${keys.client.getPublicKey()}", permissions: $SHOAL_INGRESS_NK }
  { nkey: "${keys.operator.getPublicKey()}", permissions: $SHOAL_OPERATOR_NK }
] }`,
    });
    cleanup.push(() => server.stop());
    const r = await nodeAndSend(
      server.url,
      "nk",
      ["--nkey-seed", seedFile("node"), "--inbox-prefix", "_INBOX_nk_node"],
      ["--nkey-seed", seedFile("client"), "--inbox-prefix", "_INBOX_nk_client"],
    );
    expect(r.err).toBe("");
    expect(JSON.parse(r.out)).toMatchObject({ balance: 2, node: "nk-1" });
    // An nkey the server does not list is refused; a file without a seed is named.
    const stranger = join(dir, "stranger.nk");
    writeFileSync(stranger, new TextDecoder().decode(nkeys.createUser().getSeed()));
    const bad = await shoal(["ask", "account", "x", '{"balance":{}}', "--nats", server.url, "--cluster", "nk", "--nkey-seed", stranger]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`cannot reach NATS at ${server.url}: the server refused the credentials`);
    const junk = join(dir, "junk.nk");
    writeFileSync(junk, "not a seed\n");
    const worse = await shoal(["ask", "account", "x", '{"balance":{}}', "--nats", server.url, "--cluster", "nk", "--nkey-seed", junk]);
    expect(worse.code).toBe(1);
    expect(worse.err).toContain(`the nkey seed file ${junk} holds no valid user seed`);
  });

  it("TLS: a server certificate from a private CA, trusted with --tls-ca", async (ctx) => {
    try {
      execFileSync("openssl", ["version"], { stdio: "ignore" });
    } catch {
      ctx.skip("openssl is not installed: cannot make a CA and a server certificate");
    }
    const dir = mkdtempSync(join(tmpdir(), "shoal-tls-"));
    dirs.push(dir);
    const p = (f: string) => join(dir, f);
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl("req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=shoal test CA");
    ssl("req", ...ec, "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    writeFileSync(p("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    ssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "1",
      "-extfile",
      "san.ext",
    );
    const server = await startNatsServer({
      config: `tls { cert_file: ${JSON.stringify(p("server.pem"))}, key_file: ${JSON.stringify(p("server-key.pem"))} }`,
    });
    cleanup.push(() => server.stop());
    const r = await nodeAndSend(server.url, "tls", ["--tls-ca", p("ca.pem")]);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out)).toMatchObject({ balance: 2, node: "tls-1" });
    // Without the CA the server's certificate is not trusted.
    const untrusted = await shoal(["ask", "account", "x", '{"balance":{}}', "--nats", server.url, "--cluster", "tls"]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.err).toContain(`cannot reach NATS at ${server.url}`);
  });
});
