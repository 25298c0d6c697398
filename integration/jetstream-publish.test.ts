import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import { connect, errors, headers, type Msg, type NatsConnection, RequestError } from "@nats-io/transport-node";
import { describe, expect, inject, it } from "vitest";
import { ErrorCode, ShoalError } from "../src/errors.js";
import { InboxPublisher, type JournalPublishOptions } from "../src/store/jetstream-publish.js";
import { waitFor } from "./kit/index.js";
import { suiteConnection } from "./suite-connection.js";

const payload = new TextEncoder().encode("event");
let runs = 0;
const opts = (msgID: string, lastSubjectSequence: number, timeout = 5_000): JournalPublishOptions => ({
  msgID,
  expect: { lastSubjectSequence },
  headers: headers(),
  timeout,
});

/** The outcome of `p`: its value, or what it was rejected with. */
const outcome = <T>(p: Promise<T>): Promise<T | unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

describe("InboxPublisher", () => {
  let nc!: NatsConnection;
  let jsm!: JetStreamManager;
  suiteConnection((c) => ({ nc, jsm } = c));

  /** A fresh subject prefix, and a stream over it when `stream`. */
  async function subjects(stream: boolean): Promise<string> {
    const prefix = `pub${process.pid}_${++runs}`;
    if (stream) await jsm.streams.add({ name: prefix.toUpperCase(), subjects: [`${prefix}.>`], duplicate_window: 60_000_000_000 });
    return prefix;
  }

  it("answers with the sequence, a repeated msg id as a duplicate, a wrong expected sequence as JetStream's refusal", async () => {
    const s = await subjects(true);
    const pub = new InboxPublisher(nc);
    try {
      const first = await pub.publish(`${s}.a`, payload, opts("a@0", 0));
      expect(first).toEqual({ seq: 1, duplicate: false });
      expect(await pub.publish(`${s}.b`, payload, opts("b@0", 0))).toEqual({ seq: 2, duplicate: false });
      // (On one server the expected sequence is checked before the msg id.)
      expect(await pub.publish(`${s}.a`, payload, opts("a@0", 1))).toEqual({ seq: 1, duplicate: true });
      const refused = await outcome(pub.publish(`${s}.a`, payload, opts("a@5", 0)));
      expect(refused).toBeInstanceOf(JetStreamApiError);
      expect((refused as JetStreamApiError).code).toBe(JetStreamApiCodes.StreamWrongLastSequence);
      // Our headers travel with JetStream's own.
      const h = headers();
      h.append("Shoal-Writer", "w1");
      await pub.publish(`${s}.a`, payload, { ...opts("a@1", 1), headers: h });
      const stored = await jsm.streams.getMessage(s.toUpperCase(), { seq: 3 });
      expect(stored?.header.get("Shoal-Writer")).toBe("w1");
      expect(stored?.header.get("Nats-Expected-Last-Subject-Sequence")).toBe("1");
      await jsm.streams.delete(s.toUpperCase());
    } finally {
      pub.close();
    }
  });

  it("fails with no responders when no stream takes the subject", async () => {
    const s = await subjects(false);
    const pub = new InboxPublisher(nc);
    try {
      const err = await outcome(pub.publish(`${s}.a`, payload, opts("a@0", 0)));
      expect(err).toBeInstanceOf(RequestError);
      expect((err as RequestError).isNoResponders()).toBe(true);
    } finally {
      pub.close();
    }
  });

  it("times out a publish nobody answers and ignores its late answer; a malformed answer is INTERNAL", async () => {
    const s = await subjects(false);
    const held: Msg[] = [];
    const sub = nc.subscribe(`${s}.>`, {
      callback: (_err, m) => {
        if (m.subject.endsWith(".silent")) held.push(m);
        else if (m.subject.endsWith(".garbage")) m.respond("not json");
        else if (m.subject.endsWith(".noseq")) m.respond(JSON.stringify({ stream: "X", seq: -1 }));
        else m.respond(JSON.stringify({ stream: "X", seq: 7 }));
      },
    });
    await nc.flush();
    const pub = new InboxPublisher(nc);
    try {
      const late = await outcome(pub.publish(`${s}.silent`, payload, opts("s@0", 0, 100)));
      expect(late).toBeInstanceOf(errors.TimeoutError);
      held[0]!.respond(JSON.stringify({ stream: "X", seq: 9 })); // after its timeout: dropped
      for (const bad of ["garbage", "noseq"]) {
        const err = await outcome(pub.publish(`${s}.${bad}`, payload, opts(`${bad}@0`, 0)));
        expect(ShoalError.is(err) && err.code, bad).toBe(ErrorCode.INTERNAL);
      }
      expect(await pub.publish(`${s}.ok`, payload, opts("ok@0", 0))).toEqual({ seq: 7, duplicate: false });
    } finally {
      pub.close();
      sub.unsubscribe();
    }
  });

  it("fails what is pending when closed or when its connection closes, and refuses publishes after", async () => {
    const s = await subjects(false);
    const own = await connect({ servers: inject("natsUrl") });
    const seen: Msg[] = [];
    const sub = nc.subscribe(`${s}.>`, { callback: (_err, m) => void seen.push(m) }); // never answers
    await nc.flush();
    const byClose = new InboxPublisher(nc);
    const byConnection = new InboxPublisher(own);
    const pending = [byClose.publish(`${s}.a`, payload, opts("a@0", 0)), byConnection.publish(`${s}.b`, payload, opts("b@0", 0))].map(outcome);
    await waitFor(() => seen.length === 2, { message: "both publishes reached the server" });
    byClose.close();
    await own.close();
    for (const err of await Promise.all(pending)) expect(err).toBeInstanceOf(errors.ClosedConnectionError);
    for (const pub of [byClose, byConnection]) {
      expect(await outcome(pub.publish(`${s}.c`, payload, opts("c@0", 0)))).toBeInstanceOf(errors.ClosedConnectionError);
    }
    sub.unsubscribe();
  });

  it("replies to the connection's own inbox prefix", async () => {
    const s = await subjects(false);
    const own = await connect({ servers: inject("natsUrl"), inboxPrefix: "_SHOAL_TEST_IN" });
    const replies: string[] = [];
    const sub = nc.subscribe(`${s}.>`, {
      callback: (_err, m) => {
        replies.push(m.reply ?? "");
        m.respond(JSON.stringify({ stream: "X", seq: 1 }));
      },
    });
    await nc.flush();
    const pub = new InboxPublisher(own);
    try {
      expect(await pub.publish(`${s}.a`, payload, opts("a@0", 0))).toEqual({ seq: 1, duplicate: false });
      expect(replies[0]).toMatch(/^_SHOAL_TEST_IN\./);
    } finally {
      pub.close();
      sub.unsubscribe();
      await own.close();
    }
  });
});
