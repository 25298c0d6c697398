import { type ErrorCode, ShoalError } from "../../src/errors.js";
import type { ReplyTo } from "../../src/reply-to.js";

/** What tests compare of a failure: its stable code, or a note that it was not a typed error. */
const codeOfError = (err: unknown): string => (ShoalError.is(err) ? err.code : `not a ShoalError: ${String(err)}`);

/** The code `p` rejects with, or "resolved". */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return codeOfError(err);
  }
  return "resolved";
}

/** The code `f` throws, or "no error". */
export function thrownCode(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return codeOfError(err);
  }
  return "no error";
}

/** `{ok: value}` or `{err: code}`: a settled promise in one comparable shape. */
export function outcome(p: Promise<unknown>): Promise<{ ok: unknown } | { err: string }> {
  return p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err: codeOfError(err) }),
  );
}

/** A {@link ReplyTo} and the promise it settles. */
export function promised(): { to: ReplyTo; promise: Promise<unknown> } {
  let to!: ReplyTo;
  const promise = new Promise((ok, fail) => (to = { ok, fail }));
  return { to, promise };
}

/** Rejects with a ShoalError of `code`; resolves to it. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<ShoalError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ShoalError.is(err, code)) throw new Error(`expected a ${code} rejection, got ${err === undefined ? "success" : String(err)}`);
  return err;
}
