import { type AccountEvent, account } from "../actors/account.js";
import { defineProjection } from "../projection/define.js";

/** One row of the `account-balances` view. */
export interface BalanceRow {
  /** The balance after the account's event at {@link version}. */
  balance: number;
  /** The account's version this row has folded in. */
  version: number;
}

/** How an account event moves its balance. */
export function balanceDelta(e: AccountEvent): number {
  if ("deposited" in e) return e.deposited.amount;
  if ("withdrew" in e) return -e.withdrew.amount;
  if ("transferred" in e) return -e.transferred.amount;
  if ("credited" in e) return e.credited.amount;
  return 0;
}

/**
 * The shipped example projection: `{balance, version}` per account, in the exactly-once KV view
 * `account-balances` (read it with `shoal view account-balances <id>`). Each account's events
 * come in order to one partition, so a row is the fold of its journal up to `version`.
 */
export const accountBalances = defineProjection<AccountEvent, BalanceRow>({
  name: "account-balances",
  from: [account],
  partitions: 4,
  async handle({ id, event, version }, { view }) {
    const row = (await view.get(id)) ?? { balance: 0, version: 0 };
    view.set(id, { balance: row.balance + balanceDelta(event), version });
  },
});
