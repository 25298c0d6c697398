/** Public surface of the cluster layer. */
export * from "./shard-hash.js";
export * from "./placement.js";
export * from "./plan.js";
