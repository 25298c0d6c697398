import { ACTOR_TYPE_PATTERN } from "../actor/names.js";
import { BadRequestError } from "../errors.js";
import type { FailureAction, FailurePolicy, Partitioning, ProjectionDefinition, ProjectionSpec } from "./spec.js";

/** Most partitions a projection may have. */
export const MAX_PARTITIONS = 1024;
/** Projection names are code: identifiers, safe in bucket names, keys and subjects. */
export const PROJECTION_NAME_PATTERN = ACTOR_TYPE_PATTERN;

const ACTIONS: readonly FailureAction[] = ["dead-letter", "skip", "stop"];
/** A `<type>.<token>` filter: a type name or `*`, then a base64url token or a wildcard. */
const FILTER = /^(?:[A-Za-z][A-Za-z0-9_-]{0,63}|\*)\.(?:[A-Za-z0-9_-]+|\*)$|^(?:[A-Za-z][A-Za-z0-9_-]{0,63}\.)?>$/;

/**
 * A read-side projection: a handler over the events of some actor types, run in partitions
 * that the cluster spreads over its nodes like shards, with checkpoints and an exactly-once KV
 * view (see `docs/ARCHITECTURE.md`, "Projections").
 *
 * ```ts
 * export const balances = defineProjection({
 *   name: "account-balances",
 *   from: [account],
 *   partitions: 4,
 *   async handle({ id, event, version }, { view }) {
 *     const row = (await view.get(id)) ?? { balance: 0, version: 0 };
 *     view.set(id, { balance: row.balance + delta(event), version });
 *   },
 * });
 * ```
 */
export function defineProjection<E, V>(spec: ProjectionSpec<E, V>): ProjectionDefinition<E, V> {
  if (typeof spec.name !== "string" || !PROJECTION_NAME_PATTERN.test(spec.name)) {
    throw new BadRequestError(`projection name must match ${String(PROJECTION_NAME_PATTERN)}`, { details: { field: "name" } });
  }
  if (typeof spec.handle !== "function") throw new BadRequestError(`projection ${spec.name}: handle must be a function`);
  return {
    kind: "projection",
    name: spec.name,
    subjects: sourceSubjects(spec),
    partitions: partitioning(spec.name, spec.partitions),
    handle: spec.handle,
    onFailure: failurePolicy(spec.name, spec.onFailure),
  };
}

function sourceSubjects<E, V>(spec: ProjectionSpec<E, V>): string[] {
  const from = spec.from;
  const out: string[] = [];
  if (Array.isArray(from)) {
    for (const t of from as readonly unknown[]) {
      const type = typeof t === "string" ? t : (t as { type?: unknown; kind?: unknown }).type;
      if (typeof t === "object" && (t as { kind?: unknown }).kind !== "event-sourced") {
        throw new BadRequestError(`projection ${spec.name}: ${String(type)} is not event-sourced: it has no journal to read`);
      }
      if (typeof type !== "string" || !ACTOR_TYPE_PATTERN.test(type)) {
        throw new BadRequestError(`projection ${spec.name}: from holds ${JSON.stringify(type)}, not an actor type`);
      }
      out.push(`${type}.*`);
    }
  } else if (typeof from === "object" && from !== null && Array.isArray((from as { subjects?: unknown }).subjects)) {
    for (const s of (from as { subjects: readonly unknown[] }).subjects) {
      if (typeof s !== "string" || !FILTER.test(s)) {
        throw new BadRequestError(`projection ${spec.name}: subject filter ${JSON.stringify(s)} must be <type>.<token> with wildcards`);
      }
      out.push(s);
    }
  }
  if (out.length === 0) throw new BadRequestError(`projection ${spec.name}: from names no actor type or subject`);
  return [...new Set(out)];
}

function partitioning(name: string, p: ProjectionSpec<unknown, unknown>["partitions"]): Required<Partitioning> {
  const given: Partitioning = typeof p === "number" ? { count: p } : (p ?? { count: 1 });
  const { count, by = "actor" } = given;
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new BadRequestError(`projection ${name}: partitions must be an integer from 1 to ${MAX_PARTITIONS}`);
  }
  if (by !== "actor" && by !== "tenant" && typeof by !== "function") {
    throw new BadRequestError(`projection ${name}: partitions.by must be "actor", "tenant" or a function`);
  }
  return { count, by };
}

function failurePolicy(name: string, f: FailurePolicy | undefined): Required<FailurePolicy> {
  const policy = { retries: 5, backoff: 100, maxBackoff: 5000, action: "dead-letter" as FailureAction, ...f };
  for (const k of ["retries", "backoff", "maxBackoff"] as const) {
    const v = policy[k];
    if (!Number.isInteger(v) || v < 0) throw new BadRequestError(`projection ${name}: onFailure.${k} must be a non-negative integer`);
  }
  if (!ACTIONS.includes(policy.action)) throw new BadRequestError(`projection ${name}: onFailure.action must be one of ${ACTIONS.join(", ")}`);
  return policy;
}
