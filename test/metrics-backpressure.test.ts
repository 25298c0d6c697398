/** The backpressure counters a node's metrics registry keeps, fed by its hooks. */
import { describe, expect, it } from "vitest";
import { NodeMetrics } from "../cluster/metrics.js";

describe("metrics: backpressure", () => {
  it("counts tells held at the lane bound and full mailboxes by outcome, with types bounded to the hosted ones", async () => {
    const m = new NodeMetrics({ cluster: "c", node: "n", types: ["pace"], processMetrics: false });
    m.hooks.onTellHeld?.("waited");
    m.hooks.onTellHeld?.("waited");
    m.hooks.onTellHeld?.("refused");
    m.hooks.onMailboxFull?.("pace", "dropped");
    m.hooks.onMailboxFull?.("made-up", "waited");
    const lines = (await m.metrics()).split("\n").filter((l) => /^shoal_(tells_held|mailbox_full)_total\{/.test(l));
    expect(lines.sort()).toEqual(
      [
        'shoal_mailbox_full_total{type="other",outcome="waited",cluster="c",node="n"} 1',
        'shoal_mailbox_full_total{type="pace",outcome="dropped",cluster="c",node="n"} 1',
        'shoal_tells_held_total{outcome="refused",cluster="c",node="n"} 1',
        'shoal_tells_held_total{outcome="waited",cluster="c",node="n"} 2',
      ].sort(),
    );
  });
});
