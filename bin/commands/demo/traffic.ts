import type { NatsConnection } from "@nats-io/transport-node";
import { ShoalClient } from "../../../src/client.js";
import { ShoalError } from "../../../src/errors.js";

/** What the demo's verification line reports. */
export interface TrafficReport {
  sent: number;
  acknowledged: number;
  /** Asks that failed at least once before they were acknowledged (or gave up), by phase. */
  retriedByPhase: Record<string, number>;
  lost: number;
  duplicated: number;
}

interface Deposit {
  account: string;
  amount: number;
  acked: boolean;
}

/**
 * Steady `account` traffic: `senders` loops, each depositing to random accounts with a unique
 * txn, waiting for every reply, retrying a failed deposit with the SAME txn (applied once) until
 * it is acknowledged or `giveUpMs` passes. Checks, at the end, every account's balance against
 * what was acknowledged: nothing acknowledged may be missing, nothing may be applied twice.
 */
export class BankTraffic {
  private readonly client: ShoalClient;
  private readonly deposits: Deposit[] = [];
  private readonly retried: Record<string, number> = {};
  private running = true;
  private loops: Promise<void>[] = [];
  phase = "steady";

  constructor(
    nc: NatsConnection,
    cluster: string,
    private readonly accounts: string[],
    private readonly giveUpMs = 30_000,
  ) {
    this.client = new ShoalClient(nc, cluster, { timeout: 5000 });
  }

  get acknowledged(): number {
    return this.deposits.filter((d) => d.acked).length;
  }

  start(senders: number): void {
    this.loops = Array.from({ length: senders }, (_, s) => this.loop(s));
  }

  async stop(): Promise<TrafficReport> {
    this.running = false;
    await Promise.all(this.loops);
    const lostAndDup = await this.check();
    return { sent: this.deposits.length, acknowledged: this.acknowledged, retriedByPhase: { ...this.retried }, ...lostAndDup };
  }

  private async loop(sender: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const d: Deposit = { account: this.accounts[Math.floor(Math.random() * this.accounts.length)]!, amount: 1 + Math.floor(Math.random() * 9), acked: false };
      this.deposits.push(d);
      const txn = `demo-${process.pid}-${sender}-${n}`;
      const deadline = Date.now() + this.giveUpMs;
      let failedOnce = false;
      while (Date.now() < deadline) {
        try {
          await this.client.ask("account", d.account, { deposit: { amount: d.amount, txn } });
          d.acked = true;
          break;
        } catch (err) {
          if (!failedOnce) this.retried[this.phase] = (this.retried[this.phase] ?? 0) + 1;
          failedOnce = true;
          if (ShoalError.is(err, "BAD_REQUEST")) throw err; // a bug in the demo, not a fault
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }

  /** Per account: acknowledged sum A, unacknowledged sum U; lost = A − balance, duplicated = balance − (A + U). */
  private async check(): Promise<{ lost: number; duplicated: number }> {
    let lost = 0;
    let duplicated = 0;
    for (const account of this.accounts) {
      const mine = this.deposits.filter((d) => d.account === account);
      const a = mine.filter((d) => d.acked).reduce((s, d) => s + d.amount, 0);
      const u = mine.filter((d) => !d.acked).reduce((s, d) => s + d.amount, 0);
      const { balance } = await this.readBalance(account);
      lost += Math.max(0, a - balance);
      duplicated += Math.max(0, balance - (a + u));
    }
    return { lost, duplicated };
  }

  private async readBalance(account: string): Promise<{ balance: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.ask<{ balance: number }>("account", account, { balance: {} });
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
