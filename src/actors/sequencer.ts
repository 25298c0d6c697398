import { defineInMemoryActor } from "../actor/define.js";
import { BadRequestError, RejectedError } from "../errors.js";

/**
 * An in-memory actor that proves per-sender order and in-memory state handoff (invariant 3).
 *
 * Each sender numbers its messages 1, 2, 3… and sends them one at a time. The actor keeps, per
 * sender, the last number it applied:
 *
 * - `seq === last + 1`: applied; reply `{applied: true, last, node}`;
 * - `seq <= last`: a retry of something already applied; reply `{applied: false, last, node}`,
 *   nothing changes;
 * - `seq > last + 1`: a gap — a message was lost, reordered, or the actor's state was lost in a
 *   move. The violation `{sender, expected: last + 1, got: seq}` is recorded, `last = seq`, and
 *   the reply is `{applied: true, last, node, violation: true}`.
 *
 * `{"report": {}}` answers every sender's last number and the violations seen. The state lives
 * only in memory: it survives a graceful migration through `serialize`/`deserialize`, never a
 * crash.
 */
export type SequencerMsg = { sender: string; seq: number } | { report: Record<string, never> };

/** One gap: the sender's next number was `expected`, the actor got `got`. */
export interface SequencerViolation {
  sender: string;
  expected: number;
  got: number;
}

export interface SequencerStepReply {
  applied: boolean;
  last: number;
  node: string;
  /** Present (true) when this message skipped numbers. */
  violation?: true;
}

export interface SequencerReport {
  /**
   * Every sender's last applied number, sorted by sender. A list, not an object keyed by
   * sender: sender names are client data, and `__proto__` is a valid one that no codec
   * accepts as a key.
   */
  senders: Array<{ sender: string; last: number }>;
  /** The first {@link MAX_VIOLATIONS} violations, in the order they happened. */
  violations: SequencerViolation[];
  /** Every violation ever seen, including those past the cap. */
  violationCount: number;
  node: string;
}

export type SequencerReply = SequencerStepReply | SequencerReport;

export interface SequencerState {
  /** Sender → last applied number. A Map: sender names are client data. */
  senders: Map<string, number>;
  violations: SequencerViolation[];
  violationCount: number;
}

export const MAX_SENDER_LENGTH = 64;
/** Violations kept in state (the count goes on past it). */
export const MAX_VIOLATIONS = 100;
/** Senders one actor tracks; past it a new sender is REJECTED (keeps the handoff bounded). */
export const MAX_SENDERS = 4096;

export const sequencer = defineInMemoryActor<SequencerState, SequencerMsg, SequencerReply>({
  type: "sequencer",
  initialState: () => ({ senders: new Map(), violations: [], violationCount: 0 }),
  validate: validateSequencerMsg,
  // Mutates and returns the state: a turn is synchronous and throws before any change.
  handle(state, msg, ctx) {
    if ("report" in msg) {
      const senders = [...state.senders].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sender, last]) => ({ sender, last }));
      const reply: SequencerReport = {
        senders,
        violations: state.violations.map((v) => ({ ...v })),
        violationCount: state.violationCount,
        node: ctx.node,
      };
      return { state, reply };
    }
    const { sender, seq } = msg;
    const known = state.senders.get(sender);
    if (known === undefined && state.senders.size >= MAX_SENDERS) {
      throw new RejectedError(`a sequencer tracks at most ${MAX_SENDERS} senders`, { details: { max: MAX_SENDERS } });
    }
    const last = known ?? 0;
    if (seq <= last) return { state, reply: { applied: false, last, node: ctx.node } };
    state.senders.set(sender, seq);
    if (seq === last + 1) return { state, reply: { applied: true, last: seq, node: ctx.node } };
    state.violationCount++;
    if (state.violations.length < MAX_VIOLATIONS) state.violations.push({ sender, expected: last + 1, got: seq });
    return { state, reply: { applied: true, last: seq, node: ctx.node, violation: true } };
  },
  serialize: (s) => ({
    senders: [...s.senders].map(([sender, last]) => [sender, last]),
    violations: s.violations.map((v) => ({ ...v })),
    violationCount: s.violationCount,
  }),
  deserialize: deserializeSequencerState,
});

/** Checks an untrusted sequencer message; anything but the two shapes is a BAD_REQUEST. */
export function validateSequencerMsg(input: unknown): SequencerMsg {
  if (!isPlainObject(input)) throw new BadRequestError("sequencer message must be an object");
  const keys = Object.keys(input);
  if (keys.length === 1 && keys[0] === "report") {
    const body = input.report;
    if (!isPlainObject(body) || Object.keys(body).length > 0) throw new BadRequestError('"report" takes an empty object');
    return { report: {} };
  }
  if (keys.length !== 2 || !("sender" in input) || !("seq" in input)) {
    throw new BadRequestError('sequencer message must be {"sender", "seq"} or {"report": {}}');
  }
  const { sender, seq } = input;
  if (!isSenderName(sender)) {
    throw new BadRequestError(`sender must be a string of 1 to ${MAX_SENDER_LENGTH} characters`);
  }
  if (!isPositiveSafeInt(seq)) throw new BadRequestError("seq must be a positive safe integer");
  return { sender, seq };
}

/** Inverse of the actor's `serialize`; refuses anything it would not have produced. */
export function deserializeSequencerState(data: unknown): SequencerState {
  const bad = (why: string) => new TypeError(`malformed sequencer state: ${why}`);
  if (!isPlainObject(data)) throw bad("not an object");
  const { senders, violations, violationCount } = data;
  if (!Array.isArray(senders) || senders.length > MAX_SENDERS) throw bad("senders is not a list within bounds");
  const map = new Map<string, number>();
  for (const entry of senders) {
    if (!Array.isArray(entry) || entry.length !== 2) throw bad("a sender entry is not a [sender, last] pair");
    const [sender, last] = entry as [unknown, unknown];
    if (!isSenderName(sender) || !isPositiveSafeInt(last)) throw bad("a sender entry has a bad name or number");
    if (map.has(sender)) throw bad(`sender ${JSON.stringify(sender)} appears twice`);
    map.set(sender, last);
  }
  if (!Array.isArray(violations) || violations.length > MAX_VIOLATIONS) throw bad("violations is not a list within bounds");
  const list: SequencerViolation[] = violations.map((v: unknown) => {
    if (!isPlainObject(v) || Object.keys(v).length !== 3) throw bad("a violation is not {sender, expected, got}");
    const { sender, expected, got } = v;
    if (!isSenderName(sender) || !isPositiveSafeInt(expected) || !isPositiveSafeInt(got) || got <= expected) {
      throw bad("a violation has bad fields");
    }
    return { sender, expected, got };
  });
  if (typeof violationCount !== "number" || !Number.isSafeInteger(violationCount) || violationCount < list.length) {
    throw bad("violationCount is not a count of at least the violations listed");
  }
  return { senders: map, violations: list, violationCount };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

function isSenderName(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_SENDER_LENGTH;
}

function isPositiveSafeInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}
