import { ACTOR_TYPE_PATTERN, checkActorId } from "../src/actor/names.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { BadRequestError } from "../src/errors.js";
import type { ActorSample, ShardSample } from "../src/runtime/load-meter.js";

/**
 * A node's load report: what the leader's {@link ClusterLoad} keeps per member. It goes out on
 * `shoal.<cluster>.load.<token(node)>` as MessagePack
 * `{v: 1, node, at, every, s: [[shard, turnsPerSec, mailbox, actors, stateBytes], …], h: [[type, id, shard, turnsPerSec], …]}`
 * — flat entries, shards in ascending order.
 */
export interface LoadReport {
  /** The reporting node (the subject's token must name it). */
  node: string;
  /** Its clock when it sampled (ms); informative only: the leader ages reports by its own clock. */
  at: number;
  /** Its report interval (ms): the leader drops its report after three intervals without a new one. */
  every: number;
  /** Its shards with actors, waiting messages or turns (see `LoadMeter`), ascending. */
  shards: ShardSample[];
  /** Its hottest actors, hottest first. */
  hot: ActorSample[];
}

/** Report format version; a report of another version is dropped. */
const VERSION = 1;
/** Most shard entries one report may hold (≤ 30 bytes each: a report stays under 1 MiB). */
export const MAX_REPORT_SHARDS = 16_384;
/** Most hot actors one report may hold. */
export const MAX_REPORT_HOT = 100;
/** The highest shard number a report may name. */
const MAX_SHARD = 2 ** 31 - 1;
/** The longest report interval accepted (ms): a report is stale after three. */
const MAX_EVERY = 10 * 60_000;

/**
 * Decode limits of a report: at most 1 MiB (the server's default largest message), strings up
 * to 2 KiB (ids are at most 512 UTF-8 bytes), no binaries, depth 3 (report → list → entry).
 */
const codec = new MsgpackCodec({
  maxBytes: 1024 * 1024,
  maxStringLength: 2048,
  maxBinaryLength: 0,
  maxArrayLength: MAX_REPORT_SHARDS,
  maxMapLength: 16,
  maxDepth: 3,
});

/** A report's bytes on the wire. Rates are rounded to 1/100 turn/s. */
export function encodeLoadReport(r: LoadReport): Uint8Array {
  return codec.encode({
    v: VERSION,
    node: r.node,
    at: r.at,
    every: r.every,
    s: r.shards.map((x) => [x.shard, round(x.turnsPerSec), x.mailbox, x.actors, Math.round(x.stateBytes)]),
    h: r.hot.map((a) => [a.type, a.id, a.shard, round(a.turnsPerSec)]),
  });
}

/**
 * A report read from `bytes`, published on the subject of node `from`; BAD_REQUEST when it is
 * malformed (past the limits, a field missing or of the wrong kind, a number negative or not
 * finite, shards not ascending, a type name or id that cannot be one) or names another node.
 */
export function decodeLoadReport(bytes: Uint8Array, from: string): LoadReport {
  const v = codec.decode(bytes);
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("not a map");
  const r = v as Record<string, unknown>;
  if (r.v !== VERSION) throw bad(`version ${JSON.stringify(r.v)}, expected ${VERSION}`);
  if (r.node !== from) throw bad("its node is not the one its subject names");
  const at = number(r.at, "at");
  const every = number(r.every, "every");
  if (every <= 0 || every > MAX_EVERY) throw bad(`every must be in (0, ${MAX_EVERY}] ms`);
  if (!Array.isArray(r.s) || !Array.isArray(r.h)) throw bad("s and h must be lists");
  if (r.h.length > MAX_REPORT_HOT) throw bad(`more than ${MAX_REPORT_HOT} hot actors`);
  const shards: ShardSample[] = [];
  let previous = -1;
  for (const e of r.s) {
    if (!Array.isArray(e) || e.length !== 5) throw bad("a shard entry is [shard, turnsPerSec, mailbox, actors, stateBytes]");
    const shard = shardNumber(e[0]);
    if (shard <= previous) throw bad("shards must be ascending, each once");
    previous = shard;
    shards.push({
      shard,
      turnsPerSec: number(e[1], "turnsPerSec"),
      mailbox: count(e[2], "mailbox"),
      actors: count(e[3], "actors"),
      stateBytes: number(e[4], "stateBytes"),
    });
  }
  const hot: ActorSample[] = [];
  for (const e of r.h) {
    if (!Array.isArray(e) || e.length !== 4) throw bad("a hot actor entry is [type, id, shard, turnsPerSec]");
    const [type, id] = e as unknown[];
    if (typeof type !== "string" || !ACTOR_TYPE_PATTERN.test(type)) throw bad("a hot actor's type is not a type name");
    hot.push({ type, id: checkActorId(id), shard: shardNumber(e[2]), turnsPerSec: number(e[3], "turnsPerSec") });
  }
  return { node: from, at, every, shards, hot };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function number(x: unknown, what: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0) throw bad(`${what} must be a finite number ≥ 0`);
  return x;
}

function count(x: unknown, what: string): number {
  if (!Number.isSafeInteger(x) || (x as number) < 0) throw bad(`${what} must be an integer ≥ 0`);
  return x as number;
}

function shardNumber(x: unknown): number {
  if (!Number.isInteger(x) || (x as number) < 0 || (x as number) > MAX_SHARD) throw bad("a shard must be an integer from 0 to 2³¹−1");
  return x as number;
}

function bad(why: string): BadRequestError {
  return new BadRequestError(`malformed load report: ${why}`);
}
