/**
 * The topic-group order check shared by the topic tests: read from the event stream what each
 * group's broker stored (its journal is the group's order) and what each subscriber applied, and
 * compare. A subscriber must have applied exactly the publications of its topics that its group's
 * journal holds, in the journal's order: none missing, none twice, none out of place. Every
 * publication whose publisher got an acknowledgement must be in its group's journal.
 */
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { clusterBuckets } from "../src/nats-names.js";
import { ownerIn } from "../src/routing/actor-shard.js";
import { decodeMap } from "../src/routing/shard-map.js";
import type { JetStreamEventStore } from "../src/store/jetstream.js";
import type { BrokerEvent } from "../src/topics/broker.js";
import { TOPIC_BROKER } from "../src/topics/protocol.js";
import type { Note, SubEvent } from "./fixtures/topic-subscribers.js";

/** One publication as the tests name it: `<group>/<publisher>:<n>`. */
export const noteKey = (n: Note) => `${n.g}/${n.by}:${n.n}`;

/** A group's publications in its broker's journal order, each with its topic. */
export async function groupOrder(store: JetStreamEventStore, group: string): Promise<Array<{ topic: string; key: string }>> {
  const out: Array<{ topic: string; key: string }> = [];
  for (const e of await store.read({ type: TOPIC_BROKER, id: group })) {
    const ev = e.event as BrokerEvent;
    if ("published" in ev) out.push({ topic: ev.published.topic, key: noteKey(ev.published.msg as Note) });
  }
  return out;
}

/** The publications a subscriber applied, in the order it applied them. */
export async function applied(store: JetStreamEventStore, type: string, id: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await store.read({ type, id })) {
    const ev = e.event as SubEvent;
    if (ev.k === "got") out.push(noteKey(ev));
  }
  return out;
}

/**
 * What breaks the order for one subscriber of `topics` (every one subscribed before the first
 * publication): per group, what it applied against the journal's publications of its topics.
 */
export function orderProblems(
  id: string,
  got: readonly string[],
  orders: ReadonlyMap<string, ReadonlyArray<{ topic: string; key: string }>>,
  topics: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const [group, order] of orders) {
    const want = order.filter((p) => topics.has(p.topic)).map((p) => p.key);
    const have = got.filter((k) => k.startsWith(`${group}/`));
    const dup = have.length - new Set(have).size;
    if (dup > 0) problems.push(`${id}: ${dup} duplicates in group ${group}`);
    const missing = want.filter((k) => !have.includes(k)).length;
    if (missing > 0) problems.push(`${id}: ${missing} of ${want.length} publications of group ${group} missing`);
    const i = want.findIndex((k, j) => have[j] !== k);
    if (dup === 0 && missing === 0 && (i >= 0 || have.length !== want.length)) {
      problems.push(`${id}: group ${group} out of order at ${i}: ${have.slice(i, i + 3).join(",")} instead of ${want.slice(i, i + 3).join(",")}`);
    }
  }
  return problems;
}

/** The node owning `group`'s broker on the cluster's current map. */
export async function brokerOwner(nc: NatsConnection, cluster: string, group: string): Promise<string | null> {
  const kv = await new Kvm(nc).open(clusterBuckets(cluster).map);
  const e = await kv.get("map");
  if (e === null || e.value.length === 0) return null;
  return ownerIn(decodeMap(e.value), TOPIC_BROKER, group);
}
