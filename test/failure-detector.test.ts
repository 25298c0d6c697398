import { describe, expect, it } from "vitest";
import { FailureDetector, type ProbeResult } from "../cluster/failure-detector.js";
import { ManualClock } from "../src/clock.js";
import { turns } from "./support/turns.js";

const INTERVAL = 250;
const CONFIRM = 300;

/**
 * A detector over a scripted transport: each peer answers what `answer` says at the moment
 * the probe is sent (the default: alive), after `latency` ms of the manual clock.
 */
function setup(targets: string[] = ["b"], latency = 0) {
  const clock = new ManualClock();
  const answer = new Map<string, ProbeResult>();
  const gone: Array<{ id: string; at: number }> = [];
  const sent: Array<{ id: string; at: number }> = [];
  const t0 = clock.now();
  const d = new FailureDetector({
    clock,
    interval: INTERVAL,
    confirmAfter: CONFIRM,
    targets: () => targets,
    onGone: (id) => gone.push({ id, at: clock.now() - t0 }),
    probe: (id) => {
      sent.push({ id, at: clock.now() - t0 });
      const result = answer.get(id) ?? "alive";
      return latency === 0 ? Promise.resolve(result) : new Promise((ok) => clock.setTimeout(() => ok(result), latency));
    },
  });
  /** Moves the clock in 10 ms steps, letting probe answers land between them. */
  const advance = async (ms: number) => {
    for (let done = 0; done < ms; done += 10) {
      clock.advance(Math.min(10, ms - done));
      await turns(3);
    }
  };
  return { clock, d, answer, gone, sent, advance, targets };
}

describe("FailureDetector", () => {
  it("declares a peer gone once two probes at least confirmAfter apart find no responders", async () => {
    const t = setup();
    t.d.start();
    await t.advance(1000);
    expect(t.gone).toEqual([]);
    t.answer.set("b", "absent"); // killed at 1000
    await t.advance(1000);
    expect(t.gone.length).toBeGreaterThan(0);
    const first = t.gone[0]!;
    expect(first.id).toBe("b");
    // Noticed at the next round (1000, the round boundary itself), confirmed CONFIRM later.
    expect(first.at).toBeGreaterThanOrEqual(1000 + CONFIRM);
    expect(first.at).toBeLessThanOrEqual(1000 + INTERVAL + CONFIRM);
    t.d.stop();
  });

  it("a peer absent for less than confirmAfter and then answering is not declared (a reconnect to another server)", async () => {
    const t = setup();
    t.d.start();
    await t.advance(500);
    t.answer.set("b", "absent");
    await t.advance(INTERVAL + CONFIRM - 30); // the rounds at 750 and 1000 find no subscriber…
    t.answer.set("b", "alive"); // …then it is back before the confirming probe
    await t.advance(5000);
    expect(t.gone).toEqual([]);
    expect(t.d.suspected).toEqual([]);
    t.d.stop();
  });

  it("never takes a timeout as a departure, and a timeout clears a suspicion", async () => {
    const t = setup();
    t.d.start();
    t.answer.set("b", "unknown"); // a busy node: every probe times out
    await t.advance(10_000);
    expect(t.gone).toEqual([]);
    // Absent, then timeouts, then absent again: the two no-responders are not one outage.
    t.answer.set("b", "absent");
    t.d.suspect("b");
    await t.advance(20);
    expect(t.d.suspected).toEqual(["b"]);
    t.answer.set("b", "unknown");
    await t.advance(INTERVAL);
    expect(t.d.suspected).toEqual([]);
    t.answer.set("b", "absent");
    t.d.suspect("b");
    await t.advance(CONFIRM - 50);
    expect(t.gone).toEqual([]);
    t.d.stop();
  });

  it("a probe that rejects counts as unknown", async () => {
    const clock = new ManualClock();
    const gone: string[] = [];
    const d = new FailureDetector({
      clock,
      interval: INTERVAL,
      confirmAfter: CONFIRM,
      targets: () => ["b"],
      onGone: (id) => gone.push(id),
      probe: () => Promise.reject(new Error("connection closed")),
    });
    d.start();
    for (let i = 0; i < 100; i++) {
      clock.advance(50);
      await turns(3);
    }
    expect(gone).toEqual([]);
    d.stop();
  });

  it("a slow no-responders answer counts from when it arrived, a confirming one from when it was sent", async () => {
    // 200 ms per answer: the first absent answer arrives 200 ms after the kill at the earliest,
    // and the confirming probe must be *sent* CONFIRM after that.
    const t = setup(["b"], 200);
    t.d.start();
    await t.advance(1000);
    t.answer.set("b", "absent");
    await t.advance(3000);
    expect(t.gone.length).toBeGreaterThan(0);
    const declared = t.gone[0]!.at;
    const confirmSent = t.sent.filter((s) => s.at <= declared - 200).at(-1)!.at;
    const firstAbsentSent = t.sent.find((s) => s.at >= 1000)!.at;
    expect(confirmSent - (firstAbsentSent + 200)).toBeGreaterThanOrEqual(CONFIRM);
    t.d.stop();
  });

  it("forgets a peer that is no longer a target, and probes only current targets", async () => {
    const t = setup(["b", "c"]);
    t.answer.set("c", "absent");
    t.d.start();
    await t.advance(20);
    expect(t.d.suspected).toEqual(["c"]);
    t.targets.splice(t.targets.indexOf("c"), 1); // c's record went (e.g. the leader changed)
    await t.advance(2000);
    expect(t.gone).toEqual([]);
    expect(t.d.suspected).toEqual([]);
    expect(t.sent.filter((s) => s.id === "c" && s.at > INTERVAL)).toEqual([]);
    t.d.stop();
  });

  it("suspect() probes at once instead of at the next round, and stop() ends all probing", async () => {
    const t = setup();
    t.d.start();
    await t.advance(100);
    t.answer.set("b", "absent");
    t.d.suspect("b");
    await t.advance(CONFIRM + 20);
    expect(t.gone.map((g) => g.id)).toEqual(["b"]);
    expect(t.gone[0]!.at).toBeLessThanOrEqual(100 + CONFIRM + 20);
    t.d.stop();
    const n = t.sent.length;
    await t.advance(2000);
    expect(t.sent.length).toBe(n);
    expect(t.clock.pending).toBe(0);
  });
});
