/** A membership record: what a node publishes about itself, and how it is checked when read. */
import { ACTOR_TYPE_PATTERN, MAX_ROLES } from "../src/actor/names.js";
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
  /** The node's roles, sorted (`shoal node --roles`; absent: none). */
  roles?: string[];
  /** The roles each hosted type that declares some is bound to (absent: none does). */
  typeRoles?: Record<string, string[]>;
}

const STATES: ReadonlySet<string> = new Set(["joining", "active", "draining"]);

/** A deep copy (meta and types are arrays and objects of their own). */
export function copyRecord(r: MemberRecord): MemberRecord {
  const out = { ...r };
  if (r.meta !== undefined) out.meta = { ...r.meta };
  if (r.types !== undefined) out.types = [...r.types];
  if (r.roles !== undefined) out.roles = [...r.roles];
  if (r.typeRoles !== undefined) out.typeRoles = Object.fromEntries(Object.entries(r.typeRoles).map(([t, rs]) => [t, [...rs]]));
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
    if (!names(r.types, MAX_TYPES)) return undefined;
    out.types = [...(r.types as string[])];
  }
  if (r.roles !== undefined) {
    if (!names(r.roles, MAX_ROLES)) return undefined;
    out.roles = [...(r.roles as string[])];
  }
  if (r.typeRoles !== undefined) {
    if (typeof r.typeRoles !== "object" || r.typeRoles === null || Array.isArray(r.typeRoles)) return undefined;
    const entries = Object.entries(r.typeRoles);
    if (entries.length > MAX_TYPES || !entries.every(([t, rs]) => ACTOR_TYPE_PATTERN.test(t) && names(rs, MAX_ROLES) && (rs as string[]).length > 0))
      return undefined;
    out.typeRoles = Object.fromEntries(entries.map(([t, rs]) => [t, [...(rs as string[])]]));
  }
  return out;
}

/** An array of at most `max` names shaped like actor type names. */
function names(v: unknown, max: number): boolean {
  return Array.isArray(v) && v.length <= max && v.every((x) => typeof x === "string" && ACTOR_TYPE_PATTERN.test(x));
}

/** Most actor types a record may list (a record stays a small KV value). */
const MAX_TYPES = 256;

/** Same content (a heartbeat that changed nothing). */
export function sameRecord(a: MemberRecord, b: MemberRecord): boolean {
  if (a.id !== b.id || a.weight !== b.weight || a.state !== b.state || a.startedAt !== b.startedAt) return false;
  const am = Object.entries(a.meta ?? {});
  const sameTypes = (a.types ?? []).join(",") === (b.types ?? []).join(",") && (a.types === undefined) === (b.types === undefined);
  const sameRoles = (a.roles ?? []).join(",") === (b.roles ?? []).join(",") && JSON.stringify(a.typeRoles ?? {}) === JSON.stringify(b.typeRoles ?? {});
  return sameTypes && sameRoles && am.length === Object.keys(b.meta ?? {}).length && am.every(([k, v]) => b.meta?.[k] === v);
}
