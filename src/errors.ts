/**
 * Typed errors with stable codes. Every error that can cross a process boundary is a
 * {@link ShoalError}: it carries a `code` that clients match on, survives a round trip
 * through the codec ({@link errorToWire} / {@link errorFromWire}), and keeps its `cause`
 * locally (causes never go on the wire: they may hold internals).
 */

/** Stable error codes. Clients in any language match on these strings. */
export const ErrorCode = {
  /** Malformed, oversized or otherwise invalid request (bad JSON, bad id, failed validation). */
  BAD_REQUEST: "BAD_REQUEST",
  /** The actor type named in the request is not hosted by this cluster. */
  UNKNOWN_ACTOR_TYPE: "UNKNOWN_ACTOR_TYPE",
  /** The actor refused the message on domain grounds (e.g. insufficient funds). State unchanged. */
  REJECTED: "REJECTED",
  /** A mailbox or queue is full; retry later. */
  OVERLOADED: "OVERLOADED",
  /** No answer within the deadline. The message may or may not have been applied. */
  TIMEOUT: "TIMEOUT",
  /** Optimistic concurrency failed: the event store holds a newer version than the writer expected. */
  CONFLICT: "CONFLICT",
  /** The shard of this actor is owned by another node (or no node, mid-rebalance). */
  ACTOR_MOVED: "ACTOR_MOVED",
  /**
   * Nothing can take the call now: the runtime or node is stopping, no node serves the cluster, no
   * shard map yet, or the store is unreachable.
   */
  UNAVAILABLE: "UNAVAILABLE",
  /** A bug or an unexpected failure inside the node. */
  INTERNAL: "INTERNAL",
  /**
   * The message carried a sender's sequence number behind one already applied to the actor (it
   * arrived after a later message of the same sender). Refused; state unchanged.
   */
  OUT_OF_ORDER: "OUT_OF_ORDER",
  /**
   * An ask made inside a turn would come back to an actor whose turn is already waiting in the
   * same chain of asks (A asks B, B asks A): it would wait until TIMEOUT, so it fails at once.
   */
  CALL_CYCLE: "CALL_CYCLE",
} as const;
/** One of the {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The form of an error on the wire: `{"code": "...", "message": "...", "details"?: {...}}`. */
export interface WireError {
  /** An {@link ErrorCode}; a reader treats any other string as INTERNAL. */
  code: string;
  /** Human-readable; not for matching (it may change between versions). */
  message: string;
  /** Plain data about the failure (e.g. `{field: "id"}`, `{balance, amount}`); absent when there is none. */
  details?: Record<string, unknown>;
}

/** Base class of every Shoal error. `details` must be plain, codec-safe data. */
export class ShoalError extends Error {
  /** The class's name (`"RejectedError"`, …); `code` is what to match on. */
  override name = "ShoalError";
  /** The stable code, the same on every side of the wire. */
  readonly code: ErrorCode;
  /** Plain, codec-safe data about the failure; sent on the wire with the code and message. */
  readonly details: Record<string, unknown> | undefined;

  /**
   * Prefer a subclass (`new RejectedError(…)`): {@link ShoalError.is} and clients match on `code`,
   * not on the class.
   */
  constructor(code: ErrorCode, message: string, options?: ShoalErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  /** True when `err` is a ShoalError, optionally of the given code. Works across module copies. */
  static is(err: unknown, code?: ErrorCode): err is ShoalError {
    if (!(err instanceof Error)) return false;
    const c = (err as unknown as { code?: unknown }).code;
    if (typeof c !== "string" || !isErrorCode(c)) return false;
    return code === undefined || c === code;
  }
}

/** Options every Shoal error takes: a local `cause` and codec-safe `details`. */
export interface ShoalErrorOptions {
  /** The underlying error, kept as `error.cause` in this process only (never sent). */
  cause?: unknown;
  /** Plain, codec-safe data the caller may act on (e.g. `{balance, amount}`); sent on the wire. */
  details?: Record<string, unknown>;
}

/**
 * The request was invalid and changed nothing: a malformed or oversized message, a bad actor id or
 * type name, or a message the type's `validate` refused (throw it from `validate`).
 */
export class BadRequestError extends ShoalError {
  override name = "BadRequestError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.BAD_REQUEST, message, options);
  }
}

/**
 * The actor type named is not hosted: not registered on this runtime, or not hosted by the node
 * that owns the actor's shard (`details.hostedBy` names the nodes that do).
 */
export class UnknownActorTypeError extends ShoalError {
  override name = "UnknownActorTypeError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.UNKNOWN_ACTOR_TYPE, message, options);
  }
}

/**
 * Thrown by a handler to refuse a message on domain grounds (insufficient funds…): no events, state
 * unchanged; the caller gets its message and `details`.
 */
export class RejectedError extends ShoalError {
  override name = "RejectedError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.REJECTED, message, options);
  }
}

/** The actor's mailbox was full (`mailboxCapacity`); the message was not queued. Retry later. */
export class OverloadedError extends ShoalError {
  override name = "OverloadedError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.OVERLOADED, message, options);
  }
}

/** No answer before the call's timeout. The message may still have been applied: retry with an idempotency key. */
export class TimeoutError extends ShoalError {
  override name = "TimeoutError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.TIMEOUT, message, options);
  }
}

/**
 * An append found the actor at another version than the turn expected (another writer won); the
 * turn's events were not stored and the actor reloads from the store. Nodes retry it within the
 * call's deadline.
 */
export class ConflictError extends ShoalError {
  override name = "ConflictError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.CONFLICT, message, options);
  }
}

/** The actor's shard is owned by another node. Nodes follow moves and retry within the call's deadline, so a caller rarely sees it. */
export class ActorMovedError extends ShoalError {
  override name = "ActorMovedError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.ACTOR_MOVED, message, options);
  }
}

/**
 * Nothing could take the call now: the runtime or node is stopping, no node serves the cluster, no
 * shard has an owner yet, or the event store is closed or unreachable. Retry later.
 */
export class UnavailableError extends ShoalError {
  override name = "UnavailableError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.UNAVAILABLE, message, options);
  }
}

/**
 * An unexpected failure: a bug, a malformed stored record, or an error that is not a ShoalError
 * thrown on another node (its message stays there).
 */
export class InternalError extends ShoalError {
  override name = "InternalError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.INTERNAL, message, options);
  }
}

/**
 * The message's sequence number (the ingress contract's `seq`) is behind what its sender's
 * messages to this actor have already reached: a later one was applied first. It is refused and
 * changes nothing; `details` has `sender`, `seq` and `expected`.
 */
export class OutOfOrderError extends ShoalError {
  override name = "OutOfOrderError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.OUT_OF_ORDER, message, options);
  }
}

/**
 * An ask inside a turn whose chain of waiting callers already holds the actor it asks (A→B→A, or
 * an actor asking itself). Nothing was sent; `details` has `chain`, the actors from the first
 * caller to the asker (`type/id`, ids cut to 100 characters).
 */
export class CallCycleError extends ShoalError {
  override name = "CallCycleError";
  constructor(message: string, options?: ShoalErrorOptions) {
    super(ErrorCode.CALL_CYCLE, message, options);
  }
}

/** The error for a request naming a type the node does not host. */
export function unknownActorType(type: string): UnknownActorTypeError {
  const shown = type.slice(0, 100);
  return new UnknownActorTypeError(`unknown actor type ${JSON.stringify(shown)}`, { details: { type: shown } });
}

const byCode: Record<ErrorCode, new (message: string, options?: ShoalErrorOptions) => ShoalError> = {
  BAD_REQUEST: BadRequestError,
  UNKNOWN_ACTOR_TYPE: UnknownActorTypeError,
  REJECTED: RejectedError,
  OVERLOADED: OverloadedError,
  TIMEOUT: TimeoutError,
  CONFLICT: ConflictError,
  ACTOR_MOVED: ActorMovedError,
  UNAVAILABLE: UnavailableError,
  INTERNAL: InternalError,
  OUT_OF_ORDER: OutOfOrderError,
  CALL_CYCLE: CallCycleError,
};

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCode, code);
}

/**
 * Turns any thrown value into its wire form. Non-Shoal errors become INTERNAL with a generic
 * message: stack traces and internal messages of foreign errors never leave the node.
 */
export function errorToWire(err: unknown): WireError {
  if (ShoalError.is(err)) {
    const wire: WireError = { code: err.code, message: err.message };
    if (err.details !== undefined) wire.details = err.details;
    return wire;
  }
  return { code: ErrorCode.INTERNAL, message: "internal error" };
}

/** Rebuilds the typed error from its wire form; an unknown code becomes INTERNAL (keeping the text). */
export function errorFromWire(wire: unknown): ShoalError {
  if (typeof wire !== "object" || wire === null) {
    return new InternalError("malformed error on the wire");
  }
  const w = wire as Partial<WireError>;
  const message = typeof w.message === "string" ? w.message : "error";
  const details = typeof w.details === "object" && w.details !== null && !Array.isArray(w.details) ? w.details : undefined;
  if (typeof w.code === "string" && isErrorCode(w.code)) {
    return new byCode[w.code](message, details === undefined ? undefined : { details });
  }
  return new InternalError(`${String(w.code ?? "UNKNOWN")}: ${message}`, details === undefined ? undefined : { details });
}
