import { BadRequestError } from "../errors.js";
import type { TurnContext, Validate } from "./spec.js";

/** A message map's entries as the runtime sees them: untyped. */
type Entries = Record<string, { validate: Validate<unknown>; handle(state: unknown, payload: unknown, ctx: TurnContext): unknown }>;

/**
 * The one `validate` and `handle` a message map stands for. A message is `{"<name>": payload}`
 * with exactly one key naming an entry; the validated message keeps that form (with the payload
 * the entry's check returned), so it can be validated again where it moves.
 */
export function compileMessageMap(
  type: string,
  messages: unknown,
): {
  validate: Validate<unknown>;
  handle(state: unknown, msg: unknown, ctx: TurnContext): unknown;
} {
  if (typeof messages !== "object" || messages === null || Object.keys(messages).length === 0) {
    throw new TypeError(`messages of actor type ${type} must be an object with at least one entry`);
  }
  const entries = messages as Entries;
  const names = new Map<string, Entries[string]>();
  for (const [name, entry] of Object.entries(entries)) {
    if (typeof entry?.validate !== "function" || typeof entry.handle !== "function") {
      throw new TypeError(`message ${name} of actor type ${type} needs validate and handle functions`);
    }
    names.set(name, entry);
  }
  const expected = [...names.keys()].map((n) => JSON.stringify(n)).join(", ");
  return {
    validate(input) {
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new BadRequestError(`${type} message must be an object with one of ${expected}`);
      }
      const keys = Object.keys(input);
      if (keys.length !== 1) throw new BadRequestError(`${type} message must have exactly one of ${expected}`);
      const name = keys[0]!;
      const entry = names.get(name);
      if (entry === undefined) throw new BadRequestError(`unknown ${type} message ${JSON.stringify(name.slice(0, 50))}; expected one of ${expected}`);
      return { [name]: entry.validate((input as Record<string, unknown>)[name]) };
    },
    handle(state, msg, ctx) {
      // Validated: one own key, an entry's name.
      for (const name in msg as Record<string, unknown>) return names.get(name)!.handle(state, (msg as Record<string, unknown>)[name], ctx);
      throw new BadRequestError(`${type} message has no name`);
    },
  };
}
