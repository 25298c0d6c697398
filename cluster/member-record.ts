/** A membership record: what a node publishes about itself, and how it is checked when read. */
import { ACTOR_TYPE_PATTERN } from "../src/actor/names.js";
import { decodeJson } from "../src/codec/json.js";

/** What a node publishes about itself. */
export interface MemberRecord {
  /** Node id, unique in the cluster (any string; encoded for the key). */
  id: string;
  /** Capacity weight, finite and > 0. */
  weight: number;
  /**
   * `active`: owns its share of shards. `draining`: handing its shards off before it leaves
   * ({@link ShoalNode.drain}); owns none. `joining` owns shards like `active` (nodes of this
   * version publish `active` from the start).
   */
  state: "joining" | "active" | "draining";
  /** When the node process started, ms since the epoch (its own clock). */
  startedAt: number;
  /** Free-form, e.g. the HTTP port. */
  meta?: Record<string, string>;
  /** The actor types the node hosts, sorted (absent from nodes that do not say). */
  types?: string[];
}

const STATES: ReadonlySet<string> = new Set(["joining", "active", "draining"]);

/** A deep copy (meta and types are arrays and objects of their own). */
export function copyRecord(r: MemberRecord): MemberRecord {
  const out = { ...r };
  if (r.meta !== undefined) out.meta = { ...r.meta };
  if (r.types !== undefined) out.types = [...r.types];
  return out;
}

/** A membership record as stored in the bucket, checked (unknown fields dropped); undefined when malformed. */
export function decodeMemberRecord(bytes: Uint8Array): MemberRecord | undefined {
  try {
    return validRecord(decodeJson(bytes));
  } catch {
    return undefined;
  }
}

/** The record if `v` is a well-formed one (unknown fields dropped), else undefined. */
export function validRecord(v: unknown): MemberRecord | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Partial<Record<keyof MemberRecord, unknown>>;
  if (typeof r.id !== "string" || r.id === "") return undefined;
  if (typeof r.weight !== "number" || !Number.isFinite(r.weight) || r.weight <= 0) return undefined;
  if (typeof r.state !== "string" || !STATES.has(r.state)) return undefined;
  if (typeof r.startedAt !== "number" || !Number.isFinite(r.startedAt)) return undefined;
  const out: MemberRecord = { id: r.id, weight: r.weight, state: r.state as MemberRecord["state"], startedAt: r.startedAt };
  if (r.meta !== undefined) {
    if (typeof r.meta !== "object" || r.meta === null || Array.isArray(r.meta)) return undefined;
    const entries = Object.entries(r.meta);
    if (!entries.every(([, x]) => typeof x === "string")) return undefined;
    out.meta = Object.fromEntries(entries) as Record<string, string>;
  }
  if (r.types !== undefined) {
    if (!Array.isArray(r.types) || r.types.length > MAX_TYPES || !r.types.every((t) => typeof t === "string" && ACTOR_TYPE_PATTERN.test(t))) return undefined;
    out.types = [...(r.types as string[])];
  }
  return out;
}

/** Most actor types a record may list (a record stays a small KV value). */
const MAX_TYPES = 256;

/** Same content (a heartbeat that changed nothing). */
export function sameRecord(a: MemberRecord, b: MemberRecord): boolean {
  if (a.id !== b.id || a.weight !== b.weight || a.state !== b.state || a.startedAt !== b.startedAt) return false;
  const am = Object.entries(a.meta ?? {});
  const sameTypes = (a.types ?? []).join(",") === (b.types ?? []).join(",") && (a.types === undefined) === (b.types === undefined);
  return sameTypes && am.length === Object.keys(b.meta ?? {}).length && am.every(([k, v]) => b.meta?.[k] === v);
}
