import assert from "node:assert/strict";
import { test } from "node:test";
import { ShoalError } from "shoal";
import { startTestCluster, testRuntime } from "shoal/testing";
import { counter } from "../src/actors.js";

test("a counter counts, in one process", async () => {
  await using rt = testRuntime({ actors: [counter] });
  const c = rt.ref(counter, "c");
  assert.equal(await c.ask({ increment: 2 }), 2);
  assert.equal(await c.ask({ increment: 3 }), 5);
  assert.deepEqual(await c.ask({ get: {} }), { value: 5, version: 2, node: "test" });
  await assert.rejects(c.ask({ increment: -1 }), (err) => ShoalError.is(err, "BAD_REQUEST"));
});

test("a counter keeps its value on a two-node cluster while a node drains", async () => {
  await using cluster = await startTestCluster({ actors: [counter], nodes: 2 });
  const ids = ["a", "b", "c", "d", "e", "f"];
  for (const id of ids) await cluster.ref(counter, id).ask({ increment: 1 });
  await cluster.drainNode("node-1"); // its counters move live to node-2
  for (const id of ids) {
    const now = await cluster.ref(counter, id).ask({ get: {} });
    assert.deepEqual(now, { value: 1, version: 1, node: "node-2" });
  }
});
