import type { StandardSchemaV1 } from "@standard-schema/spec";
import { BadRequestError } from "../errors.js";
import type { Validate } from "./spec.js";

/**
 * A {@link Validate} function from a Standard Schema (zod ≥ 3.24, valibot ≥ 1, arktype …): the
 * payload type follows the schema, and a value the schema refuses is a `BAD_REQUEST` naming the
 * first issues and their paths. The schema must validate synchronously (the runtime checks a
 * message before it is queued) and should accept its own output (no transforms that change the
 * shape: a message is validated again on the node it moves to).
 *
 * ```ts
 * deposit: { validate: fromSchema(z.object({ amount: z.number().int().positive(), txn: z.string() })), handle: … }
 * ```
 */
export function fromSchema<Output>(schema: StandardSchemaV1<unknown, Output>): Validate<Output> {
  const std = schema?.["~standard"];
  if (std?.version !== 1 || typeof std.validate !== "function") throw new TypeError("fromSchema takes a Standard Schema (version 1)");
  return (input) => {
    const result = std.validate(input);
    if (result instanceof Promise) throw new TypeError(`a ${std.vendor} schema validated asynchronously; message checks must be synchronous`);
    if (result.issues === undefined) return result.value;
    throw new BadRequestError(describe(result.issues), {
      details: { issues: result.issues.slice(0, 5).map((i) => ({ message: i.message, path: pathOf(i) })) },
    });
  };
}

function describe(issues: readonly StandardSchemaV1.Issue[]): string {
  const shown = issues.slice(0, 3).map((i) => (i.path?.length ? `${pathOf(i)}: ${i.message}` : i.message));
  return shown.join("; ") + (issues.length > 3 ? ` (and ${issues.length - 3} more)` : "");
}

/** The issue's path as `a.b[0]`-like text: keys only, bounded, never the values. */
function pathOf(issue: StandardSchemaV1.Issue): string {
  return (issue.path ?? [])
    .slice(0, 10)
    .map((p) => String(typeof p === "object" && p !== null ? p.key : p).slice(0, 40))
    .join(".");
}
