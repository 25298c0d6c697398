/**
 * Acceptance of routing, live migration, graceful drain and crash failover: real `shoal node`
 * processes under a steady load through the ingress, while nodes join, drain, crash or freeze.
 * The workloads and checkers live in workload.ts.
 */
import { rpcSubject } from "../src/nats-names.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { encodeToken } from "../src/codec/token.js";
import { afterEach, describe, expect, inject, it } from "vitest";
import { brief, statusOf, TestCluster, uniqueCluster } from "./cluster-helpers.js";
import { bounded, type NodeProcess, type RunningServer, startNatsServer, waitFor } from "./kit/index.js";
import {
  type BankRequest,
  checkAccountJournal,
  checkBank,
  ownerOf,
  Phases,
  readBalances,
  readJournal,
  type Run,
  tapJournalWrites,
  writerOf,
  runBank,
  runSequencer,
} from "./workload.js";

const NODE_ARGS = ["--member-ttl", "3000", "--heartbeat", "1000", "--leader-ttl", "3000"];
const SHARDS = 64;
/** A draining node must have handed everything off and exited by then. */
const DRAIN_BOUND = 20_000;
/** Bound of every wait for the cluster to settle after a change. */
const SETTLE = 30_000;

const clusters: TestCluster[] = [];
const runs: Array<Run<unknown>> = [];
const servers: RunningServer[] = [];

async function cluster(prefix: string, ids: string[], url = inject("natsUrl")): Promise<TestCluster> {
  const c = await TestCluster.create(url, uniqueCluster(prefix), { shards: SHARDS, args: NODE_ARGS });
  clusters.push(c);
  for (const id of ids) c.start(id);
  await c.waitStable(ids, SETTLE);
  return c;
}

function track<R extends Run<unknown>>(run: R): R {
  runs.push(run);
  return run;
}

afterEach(async () => {
  // Workloads first (their in-flight asks end within one ask timeout), then the processes.
  const pending = runs.splice(0);
  for (const r of pending) r.abort();
  await bounded(Promise.allSettled(pending.map((r) => r.done)), 10_000);
  await Promise.all(clusters.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** Waits until the workload has `n` more acknowledged requests: the cluster serves under the current phase. */
async function progress(run: Run<unknown>, n: number, what: string, timeout = SETTLE): Promise<void> {
  const target = run.summary().acked + n;
  await waitFor(() => run.summary().acked >= target, {
    timeout,
    interval: 50,
    message: `${what}: the workload did not get ${n} more acks: ${JSON.stringify(run.summary())}`,
  });
}

/** SIGTERM and wait for the exit within the bound; a node still running then is killed. */
async function drain(node: NodeProcess): Promise<{ exit: number | null | "timeout"; ms: number }> {
  const t0 = Date.now();
  const exit = await bounded(node.stop(), DRAIN_BOUND);
  const ms = Date.now() - t0;
  if (exit === "timeout") await node.kill();
  return { exit, ms };
}

/** A node of `ids` that is not the leader (the leader's own failover is another test's business). */
async function nonLeader(c: TestCluster, ids: string[], avoid: string[] = []): Promise<string> {
  const s = await c.waitStable(
    c.running().map((n) => n.id),
    SETTLE,
  );
  const leader = s[0]!.leader;
  const pick = ids.find((id) => id !== leader && !avoid.includes(id) && c.nodes.get(id)?.running);
  if (pick === undefined) throw new Error(`no non-leader among ${ids.join(",")}: ${JSON.stringify(s.map(brief))}`);
  return pick;
}

/** Actor ids of `type` that `node` serves now (probing `<prefix>-0`, `<prefix>-1`, …). */
async function idsOwnedBy(c: TestCluster, type: string, node: string, count: number, probe: unknown, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (let k = 0; found.length < count && k < 64 * count; k++) {
    const id = `${prefix}-${k}`;
    if ((await ownerOf(c.nc, c.name, type, id, probe)) === node) found.push(id);
  }
  if (found.length < count) throw new Error(`found only ${found.length} ${type} ids owned by ${node}`);
  return found;
}

const countBy = <T>(xs: readonly T[], key: (x: T) => string): Record<string, number> =>
  xs.reduce<Record<string, number>>((m, x) => {
    m[key(x)] = (m[key(x)] ?? 0) + 1;
    return m;
  }, {});

const failedSummary = (byPhase: Record<string, Record<string, number>>) =>
  Object.entries(byPhase)
    .map(
      ([p, codes]) =>
        `${p}:${Object.entries(codes)
          .map(([k, v]) => `${k}=${v}`)
          .join("+")}`,
    )
    .join(",") || "none";

describe("migration under load: join, drain, crash, zombie (real node processes)", () => {
  it("at steady load while a 4th node joins, one node drains and one is SIGKILLed, every acknowledged deposit is in the final balance exactly once; during the join and the drain no ask fails (only the crash may cost retries)", async () => {
    const c = await cluster("mig", ["n1", "n2", "n3"]);
    const accounts = Array.from({ length: 50 }, (_, i) => `acct-${i}`);
    const phases = new Phases("steady");
    let stop = false;
    const bank = track(
      runBank({ nc: c.nc, cluster: c.name, accounts, senders: 4, until: () => stop, maxRetryMs: 30_000, phases, askTimeout: 5000, thinkMs: 5 }),
    );
    await progress(bank, 100, "steady");

    phases.mark("join");
    c.start("n4");
    await c.waitStable(["n1", "n2", "n3", "n4"], SETTLE);
    await progress(bank, 100, "after the join");

    phases.mark("drain");
    const drained = await nonLeader(c, ["n1", "n2", "n3"]);
    const d = await drain(c.nodes.get(drained)!);
    await c.waitStable(
      c.running().map((n) => n.id),
      SETTLE,
    );
    await progress(bank, 100, "after the drain");

    phases.mark("crash");
    const crashed = await nonLeader(c, ["n1", "n2", "n3", "n4"], [drained]);
    await c.nodes.get(crashed)!.kill();
    const survivors = c.running().map((n) => n.id);
    await c.waitStable(survivors, SETTLE);
    await progress(bank, 100, "after the crash");

    stop = true;
    const result = await bank.done;
    const balances = await readBalances(c.nc, c.name, accounts);
    const check = checkBank(result.history, balances);
    const o = check.longestOutage;
    console.log(
      `[migration/bank] acked=${check.acked} unacked=${check.unacked} attempts=${check.attempts} lost=${check.lost} duplicated=${check.duplicated} ` +
        `problems=${check.problems.length} failed={${failedSummary(check.failedByPhase)}} longestOutage=${o.ms}ms(${o.phases.join("+") || "-"}) ` +
        `drain(${drained})=exit ${d.exit} in ${d.ms}ms crash=${crashed} accountsMoved=${check.accountsMoved}/${accounts.length} ` +
        `events=${JSON.stringify(countBy(c.events, (e) => e.type))}`,
    );

    expect({
      lost: check.lost,
      duplicated: check.duplicated,
      problems: check.problems.slice(0, 5),
      appliedBeforeSent: check.appliedBeforeSent,
      unreachable: accounts.filter((a) => !balances.has(a)),
      gaveUp: result.summary.gaveUp,
      failedBeforeTheCrash: {
        steady: check.failedByPhase.steady ?? {},
        join: check.failedByPhase.join ?? {},
        drain: check.failedByPhase.drain ?? {},
      },
      drainExit: d.exit,
    }).toEqual({
      lost: 0,
      duplicated: 0,
      problems: [],
      appliedBeforeSent: 0,
      unreachable: [],
      gaveUp: 0,
      failedBeforeTheCrash: { steady: {}, join: {}, drain: {} },
      drainExit: 0,
    });
    // Not vacuous: real load, and accounts really changed hands under it.
    expect(check.acked).toBeGreaterThanOrEqual(400);
    expect(check.accountsMoved).toBeGreaterThan(0);
  }, 75_000);

  it("per-sender order holds across a move and in-memory state survives a graceful migration", async () => {
    const c = await cluster("seq", ["n1", "n2", "n3"]);
    const drained = await nonLeader(c, ["n1", "n2", "n3"]);
    // Sequencers living on the node that will drain: each one moves at least once (at the join or the drain).
    const actors = await idsOwnedBy(c, "sequencer", drained, 4, { report: {} }, "seq");
    const phases = new Phases("steady");
    let stop = false;
    const seq = track(
      runSequencer({ nc: c.nc, cluster: c.name, senders: 4, actors, until: () => stop, maxRetryMs: 30_000, phases, askTimeout: 5000, thinkMs: 5 }),
    );
    await progress(seq, 100, "steady");

    phases.mark("join");
    c.start("n4");
    await c.waitStable(["n1", "n2", "n3", "n4"], SETTLE);
    await progress(seq, 100, "after the join");

    phases.mark("drain");
    const d = await drain(c.nodes.get(drained)!);
    await c.waitStable(
      c.running().map((n) => n.id),
      SETTLE,
    );
    await progress(seq, 100, "after the drain");

    stop = true;
    const r = await seq.done;
    const unmoved = actors.filter((a) => (r.nodesPerActor.get(a) ?? []).length < 2);
    const o = r.longestOutage;
    console.log(
      `[migration/sequencer] acked=${r.summary.acked} requests=${r.summary.requests} violations=${r.violations.length} violationReplies=${r.violationReplies} ` +
        `mismatches=${r.mismatches.length} failed={${failedSummary(r.failedByPhase)}} longestOutage=${o.ms}ms(${o.phases.join("+") || "-"}) ` +
        `drain(${drained})=exit ${d.exit} in ${d.ms}ms nodesPerActor=${JSON.stringify(Object.fromEntries(r.nodesPerActor))} ` +
        `events=${JSON.stringify(countBy(c.events, (e) => e.type))}`,
    );

    expect({
      violations: r.violations.slice(0, 10),
      violationReplies: r.violationReplies,
      mismatches: r.mismatches,
      unreported: r.unreported,
      appliedBeforeSent: r.appliedBeforeSent,
      gaveUp: r.summary.gaveUp,
      failed: { steady: r.failedByPhase.steady ?? {}, join: r.failedByPhase.join ?? {}, drain: r.failedByPhase.drain ?? {} },
      drainExit: d.exit,
      unmoved,
    }).toEqual({
      violations: [],
      violationReplies: 0,
      mismatches: [],
      unreported: [],
      appliedBeforeSent: 0,
      gaveUp: 0,
      failed: { steady: {}, join: {}, drain: {} },
      drainExit: 0,
      unmoved: [],
    });
    expect(r.summary.acked).toBeGreaterThanOrEqual(300);
  }, 45_000);

  it("an owner SIGSTOPped until its shards have moved, then SIGCONTed, cannot write an event", async () => {
    // A server with NATS's default pings (one every 2 minutes), so the stopped owner keeps its
    // connection and requests queue in its socket: the zombie this test is about. (The kit's
    // servers drop a client that misses 3 one-second pings; a shorter stop, or a server run
    // with the defaults, leaves exactly this.)
    const server = await startNatsServer({ config: 'ping_interval: "2m"\nping_max: 2' });
    servers.push(server);
    const c = await cluster("zombie", ["n1", "n2", "n3"], server.url);
    const leader = (await c.waitStable())[0]!.leader!;
    // An account owned by a plain member, so the zombie is a stale owner and not also a stale leader.
    let account: string | undefined;
    let zombieId = "";
    for (let k = 0; account === undefined; k++) {
      const id = `zombie-${k}`;
      const owner = await ownerOf(c.nc, c.name, "account", id, { balance: {} });
      if (owner !== leader) [account, zombieId] = [id, owner];
    }
    const zombie = c.nodes.get(zombieId)!;
    const others = ["n1", "n2", "n3"].filter((id) => id !== zombieId);
    // Every append for the account, rejected ones too: shows whether the zombie tried to write.
    const tap = tapJournalWrites(c.nc, c.name, "account", account);
    await tap.ready;

    // Three senders on the one account, for the whole test: while the owner is stopped, about a
    // third of the ingress requests queue in its socket (their clients time out and retry
    // elsewhere); it handles them, with its stale state and stale map, as soon as it wakes.
    const phases = new Phases("before");
    let stop = false;
    const bank = track(
      runBank({ nc: c.nc, cluster: c.name, accounts: [account], senders: 3, until: () => stop, maxRetryMs: 45_000, phases, askTimeout: 1000, thinkMs: 10 }),
    );
    await progress(bank, 30, "before the stop");

    phases.mark("stopped");
    const stoppedAt = Date.now();
    zombie.signal("SIGSTOP");
    // The journal as the stop left it: a write already on its way (a turn past the fence whose
    // publish sat in the client's buffer) may still land at exactly this version on waking.
    const versionAtStop = (await readJournal(c.nc, c.name, "account", account)).length;
    await c.waitStable(others, SETTLE);
    // The shard moved: a deposit to this account was acknowledged by another node since the stop.
    const servedElsewhere = (r: BankRequest) => r.attempts.some((a) => a.outcome === "ok" && a.at >= stoppedAt && a.node !== zombieId);
    await waitFor(() => bank.history.some(servedElsewhere), {
      timeout: SETTLE,
      interval: 50,
      message: `no deposit to ${account} was served by ${others.join(" or ")} while ${zombieId} was stopped`,
    });
    await progress(bank, 10, "while the owner is stopped");

    // A deposit addressed to the stopped owner and no one else: it sits in the zombie's socket
    // and is the first thing it sees on waking, with its stale map that still says "mine".
    const injected = c.nc
      .request(
        rpcSubject(c.name, zombieId),
        // A node batch of one request (cluster/batch-wire.ts).
        new MsgpackCodec().encode([
          [1, { k: "ask", type: "account", id: account, msg: { deposit: { amount: 1000, txn: "zombie" } }, timeoutMs: 20_000, mapVersion: 0, hops: 0 }],
        ]),
        { timeout: 25_000 },
      )
      .then((m) => {
        // A reply batch: [[corr, reply]] on success, [[corr, null, error]] on failure.
        const [entry] = new MsgpackCodec().decode(m.data) as Array<[number, { node?: string } | null, unknown?]>;
        return entry!.length === 2 ? { ok: true, reply: entry![1] ?? undefined } : { ok: false };
      });
    phases.mark("woken");
    const wokenAt = Date.now();
    zombie.signal("SIGCONT");
    await waitFor(async () => (await statusOf(c.nc, c.name, zombieId)) !== undefined, {
      timeout: 15_000,
      message: `${zombieId} did not answer its status after SIGCONT`,
    });
    await c.waitStable([...others, zombieId], SETTLE);
    await progress(bank, 30, "after the wake-up");

    const inj = await injected;
    expect(inj.ok).toBe(true); // routed on to the real owner, not refused and not lost
    expect(inj.reply?.node).not.toBe(zombieId);

    stop = true;
    const result = await bank.done;
    const balances = await readBalances(c.nc, c.name, [account]);
    // The injected deposit (1000, txn "zombie") is not in the workload's history: take it out
    // of what the bank check compares, and assert it on its own below.
    const workloadOnly = new Map([...balances].map(([k, v]) => [k, { ...v, balance: v.balance - 1000, version: v.version - 1 }]));
    const check = checkBank(result.history, workloadOnly);
    const journal = await readJournal(c.nc, c.name, "account", account);
    const jc = checkAccountJournal(result.history, account, journal);
    const balance = balances.get(account)?.balance;
    const ackedSum = result.history.filter((r) => r.acked).reduce((n, r) => n + r.amount, 0);
    // Requests that timed out while the owner was stopped were (mostly) delivered to it.
    const queuedAtZombie = result.history.flatMap((r) => r.attempts).filter((a) => a.phase === "stopped" && a.outcome === "TIMEOUT").length;
    tap.stop();
    // The zombie owned the account from the start: the first batch is its own writer's.
    const zombieWriter = writerOf(journal[0]?.writer ?? "");
    const stored = new Set(journal.map((e) => e.writer));
    const zombieTries = tap.writes.filter((w) => w.at >= wokenAt && writerOf(w.writer) === zombieWriter);
    const zombieFenced = new Set(zombieTries.filter((w) => !stored.has(w.writer)).map((w) => w.writer)).size;
    console.log(
      `[migration/zombie] account=${account} owner=${zombieId} acked=${check.acked} unacked=${check.unacked} lost=${check.lost} duplicated=${check.duplicated} ` +
        `balance=${balance} ackedSum=${ackedSum} journal={events:${jc.events},sum:${jc.sum},repeated:${jc.repeatedTxns.length},missingAcked:${jc.missingAcked.length},foreign:${jc.foreign.length},contiguous:${jc.contiguous}} ` +
        `queuedAtZombie~${queuedAtZombie} zombieWritesAfterWake=${new Set(zombieTries.map((w) => w.writer)).size}(fenced ${zombieFenced}) failed={${failedSummary(check.failedByPhase)}} ` +
        `longestOutage=${check.longestOutage.ms}ms events=${JSON.stringify(countBy(c.events, (e) => e.type))}`,
    );

    expect({
      lost: check.lost,
      duplicated: check.duplicated,
      problems: check.problems,
      appliedBeforeSent: check.appliedBeforeSent,
      unacked: check.unacked,
      balance,
      repeatedTxns: jc.repeatedTxns,
      missingAcked: jc.missingAcked,
      foreign: jc.foreign.filter((t) => t !== "zombie"),
      contiguous: jc.contiguous,
      journalSum: jc.sum,
    }).toEqual({
      lost: 0,
      duplicated: 0,
      problems: [],
      appliedBeforeSent: 0,
      unacked: 0,
      balance: ackedSum + 1000,
      repeatedTxns: [],
      missingAcked: [],
      foreign: [],
      contiguous: true,
      journalSum: ackedSum + 1000,
    });
    expect(check.acked).toBeGreaterThanOrEqual(70);
    // Nothing the woken zombie appended came before a map gave it shards again (on waking, the
    // fresh map or, if a turn ran first, its lapsed-lease fence stops it), and the injected
    // deposit was written exactly once, by another node.
    const zombieToken = encodeToken(zombieId);
    const regainedAt = zombie.firstOwnership(wokenAt);
    // An attempt may still leave the zombie (a turn that passed the fence just before the
    // SIGSTOP publishes on waking); the event store's expected-version check must refuse it.
    // What must never happen is a stale write that landed in the journal.
    const stale = tap.writes.filter((w) => w.at >= wokenAt && w.at < regainedAt && w.writer.split(":")[0] === zombieToken);
    // Stale = decided after the stop: a landed write expecting a version beyond the one the stop
    // left (the zombie read newer state only through a fresh, legitimate activation).
    const storedWriters = new Set(journal.map((e) => e.writer));
    const expectedVersion = (w: { msgId: string }) => Number(w.msgId.slice(w.msgId.lastIndexOf("@") + 1));
    expect(stale.filter((w) => storedWriters.has(w.writer) && expectedVersion(w) > versionAtStop)).toEqual([]);
    const zombieTxn = journal.filter((e) => JSON.stringify(e.event).includes('"zombie"'));
    expect(zombieTxn).toHaveLength(1);
    expect(zombieTxn[0]!.writer.split(":")[0]).not.toBe(zombieToken);
    expect(balance).toBe(ackedSum + 1000);
  }, 50_000);
});
