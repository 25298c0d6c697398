/**
 * Reading the journals of the test actors in integration/fixtures/beacons.ts straight from the
 * event stream (no message to the actor, so nothing activates it), and the check that no two
 * activations ever ran turns at once.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { fileURLToPath } from "node:url";
import type { LifeEvent } from "./fixtures/beacons.js";
import { openStore } from "./open-store.js";
import type { JetStreamEventStore } from "../src/store/jetstream.js";

/** The compiled module `shoal node --actors` loads (run `npm run build` first). */
export const LIFE_ACTORS = fileURLToPath(new URL("../dist/integration/fixtures/beacons.js", import.meta.url));

/** A reader of one cluster's journals. */
export class Journals {
  private constructor(private readonly store: JetStreamEventStore) {}

  static async open(nc: NatsConnection, cluster: string): Promise<Journals> {
    return new Journals(await openStore({ nc, cluster, create: false }));
  }

  /** Every event of an actor, in order. */
  async of(type: string, id: string): Promise<LifeEvent[]> {
    return (await this.store.read({ type, id })).map((e) => e.event as LifeEvent);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

/**
 * The ticks that break "one activation at a time": a tick whose activation is not the latest to
 * have said hello (an older one still running after a newer one started, or one that never said
 * hello). Empty when every tick belongs to the activation that last said hello.
 */
export function overlaps(events: readonly LifeEvent[]): string[] {
  const bad: string[] = [];
  let current: string | undefined;
  events.forEach((e, i) => {
    if (e.k === "hello") current = e.act;
    else if (e.k === "tick" && e.act !== current) bad.push(`event ${i}: a tick of ${e.act} while ${current ?? "nobody"} ran`);
  });
  return bad;
}

/** The activations in journal order, each with its node, when it said hello, and how many ticks it ran. */
export function activations(events: readonly LifeEvent[]): Array<{ act: string; node: string; at: number; ticks: number }> {
  const out: Array<{ act: string; node: string; at: number; ticks: number }> = [];
  for (const e of events) {
    if (e.k === "hello") out.push({ act: e.act, node: e.node, at: e.at, ticks: 0 });
    else if (e.k === "tick") {
      const a = out.find((x) => x.act === e.act);
      if (a !== undefined) a.ticks++;
    }
  }
  return out;
}
