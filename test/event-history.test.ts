import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EventHistory } from "../cluster/http/event-history.js";
import { streamEvents } from "../cluster/http/event-stream.js";

const event = (n: number, more: Record<string, unknown> = {}) => ({ type: "migration", shard: n, cluster: "c", node: "n1", at: n, ...more });

describe("EventHistory", () => {
  it("keeps the last events by count and by bytes, oldest first", () => {
    const h = new EventHistory({ maxEvents: 5, maxBytes: 10_000 });
    for (let i = 0; i < 12; i++) h.add(event(i));
    expect(h.since().map((e) => (JSON.parse(e.json) as { shard: number }).shard)).toEqual([7, 8, 9, 10, 11]);
    const small = new EventHistory({ maxBytes: 300 });
    for (let i = 0; i < 12; i++) small.add(event(i));
    const bytes = small.since().reduce((n, e) => n + Buffer.byteLength(e.json), 0);
    expect(bytes).toBeLessThanOrEqual(300);
    expect(small.size).toBeGreaterThan(1);
    expect((JSON.parse(small.since().at(-1)!.json) as { shard: number }).shard).toBe(11);
  });

  it("skips what is not an event, and events too large to keep or stream", () => {
    const h = new EventHistory({ maxEventBytes: 1000 });
    for (const junk of [null, 5, "migration", [1], { kind: "x" }, { type: 7 }, event(1, { blob: "x".repeat(2000) })]) h.add(junk);
    expect(h.size).toBe(0);
    h.add(event(2));
    expect(h.size).toBe(1);
  });

  it("gives what followed an id of its own; everything for an id it did not give (another process, garbage)", () => {
    const h = new EventHistory();
    for (let i = 0; i < 5; i++) h.add(event(i));
    const all = h.since();
    expect(all.map((e) => e.id)).toEqual([1, 2, 3, 4, 5].map((n) => `${h.boot}-${n}`));
    expect(h.since(all[2]!.id).map((e) => e.id)).toEqual([all[3]!.id, all[4]!.id]);
    expect(h.since(all[4]!.id)).toEqual([]);
    expect(h.since(`${h.boot}-999999`)).toEqual([]);
    const foreign = h.boot === "deadbeef" ? "cafebabe-2" : "deadbeef-2";
    for (const other of [foreign, "", "x".repeat(10_000), `${h.boot}-1e3`, `${h.boot}--1`, `${h.boot}-99999999999999999999`])
      expect(h.since(other)).toHaveLength(5);
  });

  it("tells its listeners each new event until they stop listening", () => {
    const h = new EventHistory();
    const seen: string[] = [];
    const stop = h.listen((e) => seen.push(e.id));
    h.add(event(1));
    stop();
    h.add(event(2));
    expect(seen).toEqual([`${h.boot}-1`]);
  });
});

describe("streamEvents (over HTTP)", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  async function serve(history: EventHistory): Promise<string> {
    server = createServer((req, res) => {
      const last = req.headers["last-event-id"];
      streamEvents(res, history, typeof last === "string" ? last : undefined);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  }

  /** Reads the stream until `done(text)`; returns its text. */
  async function read(url: string, done: (text: string) => boolean, headers: Record<string, string> = {}): Promise<string> {
    const ac = new AbortController();
    const r = await fetch(url, { signal: ac.signal, headers });
    const reader = r.body!.getReader();
    const td = new TextDecoder();
    let text = "";
    while (!done(text)) {
      const { done: end, value } = await reader.read();
      if (end) break;
      text += td.decode(value, { stream: true });
    }
    ac.abort();
    return text;
  }

  /** The stream's events: `{event, id, data}` per block. */
  const blocks = (text: string) =>
    text
      .split("\n\n")
      .filter((b) => /^(event|id|data):/m.test(b))
      .map((b) => Object.fromEntries(b.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)])) as Record<string, string>);

  it("replays the history as `history` events with ids, then streams new events unnamed", async () => {
    const h = new EventHistory();
    h.add(event(1));
    h.add(event(2));
    const url = await serve(h);
    const reading = read(url, (t) => t.includes('"shard":3'));
    await new Promise((r) => setTimeout(r, 100));
    h.add(event(3));
    const got = blocks(await reading);
    expect(got.map((b) => [b.event, b.id, (JSON.parse(b.data!) as { shard: number }).shard])).toEqual([
      ["history", `${h.boot}-1`, 1],
      ["history", `${h.boot}-2`, 2],
      [undefined, `${h.boot}-3`, 3],
    ]);
  });

  it("after Last-Event-ID replays only what followed it; a foreign one gets everything", async () => {
    const h = new EventHistory();
    for (let i = 1; i <= 4; i++) h.add(event(i));
    const url = await serve(h);
    const after = blocks(await read(url, (t) => t.includes('"shard":4'), { "Last-Event-ID": `${h.boot}-2` }));
    expect(after.map((b) => b.id)).toEqual([`${h.boot}-3`, `${h.boot}-4`]);
    const foreign = blocks(await read(url, (t) => t.includes('"shard":4'), { "Last-Event-ID": "\u00ff garbage" }));
    expect(foreign).toHaveLength(4);
  });
});
