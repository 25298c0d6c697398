import { defineActor } from "../actor/define.js";
import { checkActorId } from "../actor/names.js";
import type { TurnContext } from "../actor/spec.js";
import { BadRequestError, RejectedError } from "../errors.js";

/**
 * The example actor of the project (demo, tests, benchmarks): a bank account.
 *
 * Messages: `{"deposit": {"amount": n, "txn": "unique-id"}}`, `{"withdraw": {...}}`,
 * `{"transfer": {"to": "other-id", "amount": n, "txn": "unique-id"}}`, `{"balance": {}}`.
 * Amounts are positive integers (minor units, so sums are exact). Every reply carries
 * `balance`, `version` and `node`. A `txn` already applied is applied once: the repeat answers
 * the current balance with `applied: false` and writes nothing.
 *
 * A transfer debits this account (REJECTED on insufficient funds) and, in the same turn, sends
 * `{"credit": {"from", "amount", "txn"}}` to account `to`. Its reply says the debit is done; the
 * credit is stored with the debit (the outbox) and follows exactly once, whatever crashes or
 * moves happen. `credit` deliberately has no txn check of its own: that it is applied once is
 * the runtime's guarantee (the tests of messages between actors lean on it).
 */
/** A deposit or a withdrawal: a positive integer amount and its idempotency key. */
export interface Movement {
  amount: number;
  txn: string;
}

/** A transfer: to another account, a positive integer amount, and its idempotency key. */
export interface Transfer extends Movement {
  to: string;
}

/** The credit a transfer sends to its destination. */
export interface Credit extends Movement {
  from: string;
}

export type AccountMsg = { deposit: Movement } | { withdraw: Movement } | { transfer: Transfer } | { credit: Credit } | { balance: Record<string, never> };

export type AccountEvent =
  | { deposited: { amount: number; txn: string } }
  | { withdrew: { amount: number; txn: string } }
  | { transferred: Transfer }
  | { credited: Credit };

/** What `balance` answers: the balance, the actor's version and the node that ran the turn. */
export interface AccountReply {
  balance: number;
  version: number;
  node: string;
}

/** What `deposit` and `withdraw` answer: the balance after, and whether this txn was applied now (false: it had been before). */
export interface MovementReply extends AccountReply {
  applied: boolean;
}

export interface AccountState {
  balance: number;
  /** Every txn applied so far (the idempotency keys). */
  txns: Set<string>;
}

/** Largest amount of one deposit or withdrawal; keeps balances exact in doubles. */
export const MAX_AMOUNT = 1_000_000_000_000;
export const MAX_TXN_LENGTH = 128;

export const account = defineActor({
  type: "account",
  initialState: (): AccountState => ({ balance: 0, txns: new Set() }),
  messages: {
    deposit: {
      validate: (body) => checkMovement("deposit", body),
      handle(state, { amount, txn }, ctx) {
        if (state.txns.has(txn)) return { reply: movement(state.balance, ctx, false) };
        return { events: [{ deposited: { amount, txn } }], reply: movement(state.balance + amount, ctx, true) };
      },
    },
    withdraw: {
      validate: (body) => checkMovement("withdraw", body),
      handle(state, { amount, txn }, ctx) {
        if (state.txns.has(txn)) return { reply: movement(state.balance, ctx, false) };
        if (amount > state.balance) throw new RejectedError("insufficient funds", { details: { balance: state.balance, amount } });
        return { events: [{ withdrew: { amount, txn } }], reply: movement(state.balance - amount, ctx, true) };
      },
    },
    transfer: {
      validate: (body: unknown): Transfer => {
        const { to, ...rest } = (typeof body === "object" && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
        return { to: checkPeer("transfer", "to", to), ...checkMovement("transfer", rest) };
      },
      handle(state, { to, amount, txn }, ctx) {
        if (state.txns.has(txn)) return { reply: movement(state.balance, ctx, false) };
        if (to === ctx.id) throw new BadRequestError("an account cannot transfer to itself");
        if (amount > state.balance) throw new RejectedError("insufficient funds", { details: { balance: state.balance, amount } });
        ctx.ref(account, to).send({ credit: { from: ctx.id, amount, txn } });
        return { events: [{ transferred: { to, amount, txn } }], reply: movement(state.balance - amount, ctx, true) };
      },
    },
    credit: {
      validate: (body: unknown): Credit => {
        const { from, ...rest } = (typeof body === "object" && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
        return { from: checkPeer("credit", "from", from), ...checkMovement("credit", rest) };
      },
      handle: (state, credit, ctx) => ({ events: [{ credited: credit }], reply: movement(state.balance + credit.amount, ctx, true) }),
    },
    balance: {
      validate(body): Record<string, never> {
        if (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).length > 0) {
          throw new BadRequestError('"balance" takes an empty object');
        }
        return {};
      },
      handle: (state, _, ctx) => ({ reply: { balance: state.balance, version: ctx.version, node: ctx.node } as AccountReply }),
    },
  },
  evolve(state, event: AccountEvent) {
    if ("deposited" in event) {
      state.balance += event.deposited.amount;
      state.txns.add(event.deposited.txn);
    } else if ("withdrew" in event) {
      state.balance -= event.withdrew.amount;
      state.txns.add(event.withdrew.txn);
    } else if ("transferred" in event) {
      state.balance -= event.transferred.amount;
      state.txns.add(event.transferred.txn);
    } else {
      state.balance += event.credited.amount;
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

/** A movement's reply; the version counts the event this turn appends, if it appends one. */
function movement(balance: number, ctx: TurnContext, applied: boolean): MovementReply {
  return { balance, version: ctx.version + (applied ? 1 : 0), node: ctx.node, applied };
}

/** Checks the other account's id in a transfer or credit. */
function checkPeer(kind: string, field: string, id: unknown): string {
  try {
    return checkActorId(id);
  } catch (err) {
    throw new BadRequestError(`"${kind}" needs ${field}, another account's id: ${(err as Error).message}`);
  }
}

/** Checks the body of a deposit or withdrawal: `{amount, txn}` and nothing else. */
function checkMovement(kind: string, body: unknown): Movement {
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
  return { amount, txn };
}
