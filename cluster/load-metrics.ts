import { Gauge, type Registry } from "prom-client";
import type { ShoalNode } from "./node.js";

/**
 * The load gauges of a node's registry, read at each scrape: the node's own turn rate and state
 * bytes, and on the leader the cluster's busiest shards and hottest actors — the top N only
 * (`load.topN`), and the series of the last scrape cleared first, so the label set stays
 * bounded and a shard or actor that is no longer among them disappears. The label `owner` is
 * the node that reported it (`node` is every series' own default label).
 */
export function loadGauges(registry: Registry, node: () => ShoalNode | undefined): void {
  const registers = [registry];
  new Gauge({
    name: "shoal_turns_per_second",
    help: "Turns this node started per second (decayed with the load half-life), at its last load report.",
    registers,
    collect() {
      const own = node()?.loads.nodeLoad();
      if (own !== undefined) this.set(own.turnsPerSec);
    },
  });
  new Gauge({
    name: "shoal_state_bytes",
    help: "Estimated bytes of the state (snapshot form, as a handoff carries it) of the actors in memory on this node, at its last load report.",
    registers,
    collect() {
      const own = node()?.loads.nodeLoad();
      if (own !== undefined) this.set(own.stateBytes);
    },
  });
  new Gauge({
    name: "shoal_hot_shard_turns_per_second",
    help: "On the leader: turns per second of the cluster's busiest shards (top N), by shard and the node that reported most of its turns.",
    labelNames: ["shard", "owner"],
    registers,
    collect() {
      this.reset();
      for (const s of node()?.loads.summary()?.shards ?? []) this.set({ shard: String(s.shard), owner: s.node }, s.turnsPerSec);
    },
  });
  new Gauge({
    name: "shoal_hot_actor_turns_per_second",
    help: "On the leader: turns per second of the cluster's hottest actors (top N), by type, id, shard and the node it runs on.",
    labelNames: ["type", "id", "shard", "owner"],
    registers,
    collect() {
      this.reset();
      for (const a of node()?.loads.summary()?.actors ?? []) this.set({ type: a.type, id: a.id, shard: String(a.shard), owner: a.node }, a.turnsPerSec);
    },
  });
}
