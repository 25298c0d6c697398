import { shardOf } from "../src/routing/shard-hash.js";
import type { Figure } from "./report.js";

/** actor → shard on the hot path of every message: hashes per second for short ids. */
export function shardHashRate(): Figure {
  const keys = Array.from({ length: 1000 }, (_, i) => `user-${i * 7919}`);
  let sum = 0;
  for (let i = 0; i < 200_000; i++) sum += shardOf("account", keys[i % 1000]!); // warm-up
  const n = 3_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sum += shardOf("account", keys[i % 1000]!);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name: "shard_hash", value: n / seconds, unit: "hashes/s", checksum: sum % 997 };
}
