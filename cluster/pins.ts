/**
 * Tenant pins: which tenants of which actor types an operator has pinned to a node or a role
 * (`shoal pin set`), as stored in the cluster's pins bucket, and how the leader turns them into
 * the map's tenant shards. Pure but for {@link PinWatch}, which keeps the bucket's current pins.
 *
 * A tenant pinned once keeps its shard for good (pins are never dropped from the map, so an
 * actor's shard never changes back and forth): removing the pin leaves the shard placed like any
 * other of its type's group, and pinning it again is a plain move of that shard.
 */
import { ACTOR_TYPE_PATTERN } from "../src/actor/names.js";
import { decodeJson } from "../src/codec/json.js";
import type { Logger } from "../src/log.js";
import { encodeToken } from "../src/codec/token.js";
import { MAX_PINS, type TenantPin } from "../src/routing/shard-map.js";
import type { Kv, KvWatch } from "./kv.js";

/** One pin as an operator sets it: a tenant of a type, and where it goes. */
export interface PinRequest {
  readonly type: string;
  readonly tenant: string;
  /** The node to run the tenant's actors on. */
  readonly node?: string;
  /** Or: the role whose nodes run them (one of them). */
  readonly role?: string;
}

/** The pins bucket's key for a tenant of a type: `<type>.<token(tenant)>`. */
export function pinKey(type: string, tenant: string): string {
  return `${type}.${encodeToken(tenant)}`;
}

/** Longest tenant accepted in a pin (ids, and so tenants, are at most 512 UTF-8 bytes). */
const MAX_TENANT_BYTES = 512;

/** A pin's type and tenant checked: a type name, and a non-empty tenant of bounded size. A TypeError says what is wrong. */
export function checkTenant(type: unknown, tenant: unknown): { type: string; tenant: string } {
  if (typeof type !== "string" || !ACTOR_TYPE_PATTERN.test(type)) throw new TypeError(`a pin's type must match ${String(ACTOR_TYPE_PATTERN)}`);
  if (typeof tenant !== "string" || tenant === "" || Buffer.byteLength(tenant, "utf8") > MAX_TENANT_BYTES) {
    throw new TypeError(`a pin's tenant must be a non-empty string of at most ${MAX_TENANT_BYTES} UTF-8 bytes`);
  }
  return { type, tenant };
}

/** A pin request checked: names well-formed, exactly one of node and role. A TypeError says what is wrong. */
export function checkPin(v: unknown): PinRequest {
  const r = (typeof v === "object" && v !== null ? v : {}) as Partial<Record<keyof PinRequest, unknown>>;
  const { type, tenant } = checkTenant(r.type, r.tenant);
  const node = r.node;
  const role = r.role;
  if ((node === undefined) === (role === undefined)) throw new TypeError("a pin names a node or a role (one of them)");
  if (node !== undefined && (typeof node !== "string" || node === "" || node.length > 256)) throw new TypeError("a pin's node must be a node id");
  if (role !== undefined && (typeof role !== "string" || !ACTOR_TYPE_PATTERN.test(role)))
    throw new TypeError(`a pin's role must match ${String(ACTOR_TYPE_PATTERN)}`);
  return node !== undefined ? { type, tenant, node: node as string } : { type, tenant, role: role as string };
}

/** The map's tenant shards for the pins wanted now, and the pins that found no shard. */
export interface PinLayout {
  readonly pins: TenantPin[];
  /** Pins past {@link MAX_PINS} tenant shards: not applied. */
  readonly refused: PinRequest[];
}

/**
 * The next map's tenant shards: every previous one kept at its shard, pointing where its pin
 * says now (nowhere once unpinned); a newly pinned tenant gets the next shard from `firstFree`,
 * in (type, tenant) order so the result does not depend on the order pins were read.
 */
export function layoutPins(previous: readonly TenantPin[], wanted: readonly PinRequest[], firstFree: number): PinLayout {
  const key = (p: { type: string; tenant: string }) => `${p.type}\u0000${p.tenant}`;
  const want = new Map(wanted.map((w) => [key(w), w]));
  const at = (p: TenantPin, w: PinRequest | undefined): TenantPin => {
    const base: TenantPin = { type: p.type, tenant: p.tenant, shard: p.shard };
    if (w?.node !== undefined) return { ...base, node: w.node };
    return w?.role !== undefined ? { ...base, role: w.role } : base;
  };
  const pins = previous.map((p) => at(p, want.get(key(p))));
  const had = new Set(previous.map(key));
  const fresh = wanted.filter((w) => !had.has(key(w))).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const refused: PinRequest[] = [];
  let next = firstFree;
  for (const w of fresh) {
    if (pins.length >= MAX_PINS) {
      refused.push(w);
      continue;
    }
    pins.push(at({ type: w.type, tenant: w.tenant, shard: next++ }, w));
  }
  return { pins, refused };
}

/** Whether two lists of tenant shards say the same thing. */
export function samePins(a: readonly TenantPin[] | undefined, b: readonly TenantPin[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length &&
    x.every((p, i) => p.type === y[i]!.type && p.tenant === y[i]!.tenant && p.shard === y[i]!.shard && p.node === y[i]!.node && p.role === y[i]!.role)
  );
}

/** The pins bucket's current pins, kept by a watch; `onChange` is told after each change. */
export class PinWatch {
  private readonly pins = new Map<string, PinRequest>();
  private watch: KvWatch | undefined;

  constructor(
    private readonly kv: Kv,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {}

  async start(): Promise<void> {
    this.watch = await this.kv.watch((c) => {
      if (c.kind === "delete") {
        if (this.pins.delete(c.key)) this.onChange();
        return;
      }
      try {
        const pin = checkPin(decodeJson(c.entry.value));
        if (pinKey(pin.type, pin.tenant) !== c.entry.key) throw new TypeError(`stored under ${c.entry.key}, not its own key`);
        this.pins.set(c.entry.key, pin);
      } catch (err) {
        this.log.warn({ key: c.entry.key, err: (err as Error).message }, "a malformed pin is ignored");
        this.pins.delete(c.entry.key);
      }
      this.onChange();
    });
  }

  /** The pins now, sorted by key. */
  list(): PinRequest[] {
    return [...this.pins].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p);
  }

  stop(): void {
    this.watch?.stop();
  }
}
