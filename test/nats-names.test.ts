import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeToken } from "../src/codec/token.js";
import { ErrorCode, ShoalError } from "../src/errors.js";
import {
  clusterBuckets,
  clusterSubjects,
  journalSubject,
  keepAliveKey,
  keepAliveShardFilter,
  loadSubject,
  loadSubjectNode,
  memberKey,
  parseKeepAliveKey,
  replySubjectPrefix,
  nodeAskSubject,
  rpcSubject,
  snapshotKey,
  statusSubject,
  streamName,
} from "../src/nats-names.js";

/**
 * The names a cluster uses on NATS are a contract with tools, clients in other languages and
 * operators' permissions: pinned here for one sample cluster, and checked so that no id —
 * whatever `.`, `*`, `>` or whitespace it holds — can name a subject other than its own.
 */

/** Does a NATS subscription `pattern` receive `subject`? (`*` one token, `>` one or more at the end.) */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

describe("NATS names of a cluster", () => {
  it("are pinned for a sample cluster, node and actor", () => {
    const node = "node.1 *>"; // token bm9kZS4xICo-
    const actor = { type: "account", id: "a.b >*" }; // token YS5iID4q
    expect(clusterSubjects("prod-1")).toEqual({
      ask: "shoal.prod-1.ask",
      askQueue: "shoal-prod-1-ingress",
      events: "shoal.prod-1.events",
      journal: "shoal.prod-1.journal.>",
      loads: "shoal.prod-1.load.*",
    });
    expect(clusterBuckets("prod-1")).toEqual({
      members: "shoal-members-prod-1",
      leader: "shoal-leader-prod-1",
      map: "shoal-map-prod-1",
      snapshots: "shoal-snapshots-prod-1",
      reminders: "shoal-reminders-prod-1",
      keepAlive: "shoal-keepalive-prod-1",
      pins: "shoal-pins-prod-1",
    });
    expect(keepAliveKey(17, actor)).toBe("17.account.YS5iID4q");
    expect(keepAliveShardFilter(17)).toBe("17.>");
    expect(streamName("prod-1")).toBe("SHOAL_EVENTS_prod-1");
    expect(journalSubject("prod-1", actor)).toBe("shoal.prod-1.journal.account.YS5iID4q");
    expect(snapshotKey(actor)).toBe("account.YS5iID4q");
    expect(memberKey(node)).toBe("bm9kZS4xICo-");
    expect(rpcSubject("prod-1", node)).toBe("shoal.prod-1.node.bm9kZS4xICo-.rpc");
    expect(replySubjectPrefix("prod-1", node)).toBe("shoal.prod-1.node.bm9kZS4xICo-.re");
    expect(statusSubject("prod-1", node)).toBe("shoal.prod-1.node.bm9kZS4xICo-.status");
    expect(nodeAskSubject("prod-1", node)).toBe("shoal.prod-1.node.bm9kZS4xICo-.ask");
    expect(loadSubject("prod-1", node)).toBe("shoal.prod-1.load.bm9kZS4xICo-");
    expect(loadSubjectNode("prod-1", "shoal.prod-1.load.bm9kZS4xICo-")).toBe(node);
    for (const bad of ["shoal.prod-1.load.", "shoal.prod-1.load.a.b", "shoal.prod-2.load.bm9kZS4xICo-", "shoal.prod-1.load.a=", "shoal.prod-1.node.x.load"]) {
      expect(loadSubjectNode("prod-1", bad), bad).toBeUndefined();
    }
  });

  it("refuse a cluster name that could break out of its subjects, stream or buckets", () => {
    for (const bad of ["", "a.b", "a*", "a>", "a b", "a\tb", "ü", "-a", "x".repeat(65)]) {
      for (const name of [() => clusterSubjects(bad), () => clusterBuckets(bad), () => streamName(bad)]) {
        expect(ShoalError.is(catching(name), ErrorCode.BAD_REQUEST), JSON.stringify(bad)).toBe(true);
      }
    }
  });

  const awkward = fc.oneof(
    fc.constantFrom("*", ">", "a.b", "a b", "..", "*.>", "a\tb"),
    fc.string({ unit: fc.constantFrom(".", "*", ">", " ", "\t", "\n", "\r", "\u0000", "a", "Z", "0", "-", "_", "=", "/", "é", "🐟"), minLength: 1 }),
    fc.string({ unit: "grapheme", minLength: 1 }),
  );
  const cluster = "c-1";
  const subjectsOf = (id: string) => ({
    rpc: rpcSubject(cluster, id),
    reply: `${replySubjectPrefix(cluster, id)}.42`,
    status: statusSubject(cluster, id),
    ask: nodeAskSubject(cluster, id),
    load: loadSubject(cluster, id),
    journal: journalSubject(cluster, { type: "account", id }),
  });
  /** What a node or observer subscribes to for `id`. */
  const patternsOf = (id: string) => [
    rpcSubject(cluster, id),
    `${replySubjectPrefix(cluster, id)}.*`,
    statusSubject(cluster, id),
    nodeAskSubject(cluster, id),
    loadSubject(cluster, id),
    journalSubject(cluster, { type: "account", id }),
  ];

  it("give any id exactly one literal token, in its own place", () => {
    fc.assert(
      fc.property(awkward, (id) => {
        const s = subjectsOf(id);
        for (const subject of Object.values(s)) {
          expect(subject).toMatch(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/); // no wildcard, no whitespace, no empty token
        }
        expect(s.rpc.split(".")).toHaveLength(5);
        expect(s.reply.split(".")).toHaveLength(6);
        expect(s.status.split(".")).toHaveLength(5);
        expect(s.journal.split(".")).toHaveLength(5);
        for (const subject of [s.rpc, s.reply, s.status]) expect(decodeToken(subject.split(".")[3]!)).toBe(id);
        expect(decodeToken(s.journal.split(".")[4]!)).toBe(id);
        expect(s.load.split(".")).toHaveLength(4);
        expect(loadSubjectNode(cluster, s.load)).toBe(id);
        expect(memberKey(id)).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(snapshotKey({ type: "account", id })).toMatch(/^account\.[A-Za-z0-9_-]+$/);
        const kk = keepAliveKey(5, { type: "account", id });
        expect(kk).toMatch(/^5\.account\.[A-Za-z0-9_-]+$/);
        expect(matches(keepAliveShardFilter(5), kk)).toBe(true);
        expect(matches(keepAliveShardFilter(50), kk)).toBe(false);
        expect(parseKeepAliveKey(kk)).toEqual({ shard: 5, key: { type: "account", id } });
        // The cluster's own subscriptions see only what is theirs.
        const c = clusterSubjects(cluster);
        expect(matches(c.journal, s.journal)).toBe(true);
        expect(matches(c.loads, s.load)).toBe(true);
        for (const subject of [s.rpc, s.reply, s.status, s.ask, s.journal]) expect(matches(c.loads, subject)).toBe(false);
        for (const subject of [s.rpc, s.reply, s.status, s.load]) {
          for (const other of [c.ask, c.events, c.journal]) expect(matches(other, subject)).toBe(false);
        }
      }),
    );
  });

  it("never let one id's subjects reach what is subscribed for another", () => {
    fc.assert(
      fc.property(awkward, awkward, (a, b) => {
        fc.pre(a !== b);
        for (const subject of Object.values(subjectsOf(a))) {
          for (const pattern of patternsOf(b)) expect(matches(pattern, subject)).toBe(false);
        }
        expect(memberKey(a)).not.toBe(memberKey(b));
        expect(snapshotKey({ type: "account", id: a })).not.toBe(snapshotKey({ type: "account", id: b }));
        expect(keepAliveKey(1, { type: "account", id: a })).not.toBe(keepAliveKey(1, { type: "account", id: b }));
      }),
    );
  });

  it("read back only keep-alive keys Shoal could have written", () => {
    for (const bad of [
      "",
      "1.account",
      "1.account.YQ.x",
      "x.account.YQ",
      "01.account.YQ",
      "-1.account.YQ",
      "1.9bad.YQ",
      "1.account.",
      "1.account.Y Q",
      "1.account.YQ==",
    ]) {
      expect(parseKeepAliveKey(bad), bad).toBeUndefined();
    }
    expect(parseKeepAliveKey("0.clock.Y2xvY2s")).toEqual({ shard: 0, key: { type: "clock", id: "clock" } });
  });

  it("the subject matcher used above follows NATS", () => {
    expect(matches("a.*.c", "a.b.c")).toBe(true);
    expect(matches("a.*", "a.b.c")).toBe(false);
    expect(matches("a.>", "a.b.c")).toBe(true);
    expect(matches("a.>", "a")).toBe(false);
    expect(matches("a.b", "a.b")).toBe(true);
    expect(matches("a.b", "a.b.c")).toBe(false);
  });
});

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
