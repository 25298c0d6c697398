import { defineActor } from "../actor/define.js";
import { BadRequestError, RejectedError } from "../errors.js";

/**
 * The example actor of the project (demo, tests, benchmarks): a bank account.
 *
 * Messages: `{"deposit": {"amount": n, "txn": "unique-id"}}`, `{"withdraw": {...}}`,
 * `{"balance": {}}`. Amounts are positive integers (minor units, so sums are exact).
 * Every reply carries `balance`, `version` and `node`. A `txn` already applied is applied
 * once: the repeat answers the current balance with `applied: false` and writes nothing.
 */
export type AccountMsg =
  | { deposit: { amount: number; txn: string } }
  | { withdraw: { amount: number; txn: string } }
  | { balance: Record<string, never> };

export type AccountEvent = { deposited: { amount: number; txn: string } } | { withdrew: { amount: number; txn: string } };

export interface AccountReply {
  balance: number;
  version: number;
  node: string;
  /** For deposit/withdraw: false when the txn had been applied before. */
  applied?: boolean;
}

export interface AccountState {
  balance: number;
  /** Every txn applied so far (the idempotency keys). */
  txns: Set<string>;
}

/** Largest amount of one deposit or withdrawal; keeps balances exact in doubles. */
export const MAX_AMOUNT = 1_000_000_000_000;
export const MAX_TXN_LENGTH = 128;

export const account = defineActor<AccountState, AccountMsg, AccountReply, AccountEvent>({
  type: "account",
  initialState: () => ({ balance: 0, txns: new Set() }),
  validate: validateAccountMsg,
  handle(state, msg, ctx) {
    const reply = (balance: number, version: number, applied?: boolean): AccountReply =>
      applied === undefined ? { balance, version, node: ctx.node } : { balance, version, node: ctx.node, applied };
    if ("balance" in msg) return { reply: reply(state.balance, ctx.version) };
    if ("deposit" in msg) {
      const { amount, txn } = msg.deposit;
      if (state.txns.has(txn)) return { reply: reply(state.balance, ctx.version, false) };
      return { events: [{ deposited: { amount, txn } }], reply: reply(state.balance + amount, ctx.version + 1, true) };
    }
    const { amount, txn } = msg.withdraw;
    if (state.txns.has(txn)) return { reply: reply(state.balance, ctx.version, false) };
    if (amount > state.balance) {
      throw new RejectedError("insufficient funds", { details: { balance: state.balance, amount } });
    }
    return { events: [{ withdrew: { amount, txn } }], reply: reply(state.balance - amount, ctx.version + 1, true) };
  },
  evolve(state, event) {
    if ("deposited" in event) {
      state.balance += event.deposited.amount;
      state.txns.add(event.deposited.txn);
    } else {
      state.balance -= event.withdrew.amount;
      state.txns.add(event.withdrew.txn);
    }
    return state;
  },
  snapshotEvery: 100,
  snapshot: {
    toData: (s) => ({ balance: s.balance, txns: [...s.txns] }),
    fromData(data) {
      const d = data as { balance?: unknown; txns?: unknown };
      if (typeof d?.balance !== "number" || !Array.isArray(d.txns)) throw new TypeError("malformed account snapshot");
      return { balance: d.balance, txns: new Set(d.txns as string[]) };
    },
  },
});

/** Checks an untrusted account message; anything else than the three shapes is a BAD_REQUEST. */
export function validateAccountMsg(input: unknown): AccountMsg {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new BadRequestError("account message must be an object");
  }
  const keys = Object.keys(input);
  if (keys.length !== 1) {
    throw new BadRequestError('account message must have exactly one of "deposit", "withdraw", "balance"');
  }
  const kind = keys[0]!;
  const body = (input as Record<string, unknown>)[kind];
  if (kind === "balance") {
    if (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).length > 0) {
      throw new BadRequestError('"balance" takes an empty object');
    }
    return { balance: {} };
  }
  if (kind !== "deposit" && kind !== "withdraw") {
    throw new BadRequestError(`unknown account message ${JSON.stringify(kind.slice(0, 50))}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequestError(`"${kind}" must be an object with amount and txn`);
  }
  const { amount, txn, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new BadRequestError(`unexpected fields in "${kind}"`);
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_AMOUNT) {
    throw new BadRequestError(`amount must be an integer from 1 to ${MAX_AMOUNT}`);
  }
  if (typeof txn !== "string" || txn.length === 0 || txn.length > MAX_TXN_LENGTH) {
    throw new BadRequestError(`txn must be a non-empty string of at most ${MAX_TXN_LENGTH} characters`);
  }
  return kind === "deposit" ? { deposit: { amount, txn } } : { withdraw: { amount, txn } };
}
