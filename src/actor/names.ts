import { BadRequestError } from "../errors.js";

/** Longest actor id accepted, in UTF-8 bytes. */
export const MAX_ACTOR_ID_BYTES = 512;

/** Actor type names are code, not data: short identifiers, safe in subjects and KV keys as they are. */
export const ACTOR_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Cluster names end up in subjects, stream and bucket names. */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Checks an actor id from outside: a non-empty, well-formed string of bounded length. */
export function checkActorId(id: unknown): string {
  if (typeof id !== "string") throw new BadRequestError("actor id must be a string", { details: { field: "id" } });
  if (id.length === 0) throw new BadRequestError("actor id must not be empty", { details: { field: "id" } });
  // Two UTF-16 units per code point at most three UTF-8 bytes: a cheap bound before measuring.
  if (id.length > MAX_ACTOR_ID_BYTES || Buffer.byteLength(id, "utf8") > MAX_ACTOR_ID_BYTES) {
    throw new BadRequestError(`actor id longer than ${MAX_ACTOR_ID_BYTES} UTF-8 bytes`, {
      details: { field: "id", max: MAX_ACTOR_ID_BYTES },
    });
  }
  if (!isWellFormed(id)) {
    throw new BadRequestError("actor id is not well-formed Unicode (lone surrogate)", { details: { field: "id" } });
  }
  return id;
}

/** Checks an actor type name from outside (the registry then says whether it is hosted). */
export function checkActorTypeName(type: unknown): string {
  if (typeof type !== "string" || !ACTOR_TYPE_PATTERN.test(type)) {
    throw new BadRequestError(`actor type must match ${String(ACTOR_TYPE_PATTERN)}`, { details: { field: "type" } });
  }
  return type;
}

/** Most roles a node or an actor type may list. */
export const MAX_ROLES = 32;

/**
 * Checks a list of node roles (`what` names it in the error): 1–{@link MAX_ROLES} distinct names
 * shaped like actor type names. Returns them sorted. A TypeError otherwise.
 */
export function checkRoles(roles: unknown, what: string): string[] {
  if (!Array.isArray(roles) || roles.length === 0 || roles.length > MAX_ROLES) throw new TypeError(`${what} must be a list of 1 to ${MAX_ROLES} role names`);
  for (const r of roles) {
    if (typeof r !== "string" || !ACTOR_TYPE_PATTERN.test(r))
      throw new TypeError(`${what}: role ${JSON.stringify(r)} must match ${String(ACTOR_TYPE_PATTERN)}`);
  }
  if (new Set(roles).size !== roles.length) throw new TypeError(`${what} lists a role twice`);
  return [...(roles as string[])].sort();
}

export function checkClusterName(name: string): string {
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new BadRequestError(`cluster name ${JSON.stringify(name)} must match ${String(CLUSTER_NAME_PATTERN)}`);
  }
  return name;
}

function isWellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof f === "function") return f.call(s);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}
