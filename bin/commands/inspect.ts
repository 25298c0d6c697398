import type { NatsConnection } from "@nats-io/transport-node";
import { type ActorState, inspectAt } from "../../cluster/replay.js";
import { InternalError } from "../../src/errors.js";
import { mailFromJournal } from "../../src/runtime/outgoing.js";
import { JetStreamEventStore } from "../../src/store/jetstream.js";
import { positiveInt } from "../args.js";
import { actorArgs, operatorArgs, readCluster } from "../read-cluster.js";
import { requireStoredMap } from "../../cluster/cluster-status.js";

export const inspectUsage = `shoal inspect <type> <id> [--events N] [--json] [--nats URL] [--cluster NAME]

Shows an event-sourced actor as its journal holds it, read straight from JetStream: its
version, its newest snapshot (version, state, and whether a load would use it), how many events
a load replays after it, its messages to other actors not yet acknowledged, and its last
--events events (default 10). Then its state now, as its owner folds it (the live state when it
is in memory there, else loaded for this and dropped again: nothing is activated); "state
unavailable" when no owner answers. --json prints one object
{type, id, version, snapshot: {version, state, used} | null, replay, outbox,
 events: [{version, event}], state: {node, version, state, active} | null}.

  example: shoal inspect account alice`;

/** Runs `shoal inspect`. */
export async function runInspect(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, inspectUsage, { events: { type: "string" } });
  if (given === undefined) return 0;
  const { values, positionals } = given;
  const { type, id } = actorArgs(positionals, "inspect");
  const last = positiveInt("events", values.events, 10);
  return readCluster(values, "shoal-inspect", async (nc, cluster) => {
    const store = await JetStreamEventStore.open({ nc, cluster, create: false });
    const key = { type, id };
    const [snapshot, journal] = await Promise.all([store.loadSnapshot(key).catch(() => undefined), store.load(key)]);
    const mail = mailFromJournal(journal.snapshot?.meta, journal.metas ?? [], (what) => new InternalError(what));
    const tail = journal.events.length >= last ? journal.events.slice(-last) : (await store.read(key, Math.max(0, journal.version - last))).slice(-last);
    const shown = {
      type,
      id,
      version: journal.version,
      snapshot: snapshot === undefined ? null : { version: snapshot.version, state: snapshot.state, used: journal.snapshot?.version === snapshot.version },
      replay: journal.events.length,
      outbox: mail?.outbox.length ?? 0,
      events: tail.map((e) => ({ version: e.version, event: e.event })),
    };
    const now = await ownersView(nc, cluster, key);
    const full = {
      ...shown,
      state: now.state === undefined ? null : { node: now.state.node, version: now.state.version, state: now.state.state, active: now.state.active },
    };
    return values.json ? JSON.stringify(full) : `${formatInspect(shown)}\n${formatState(now)}`;
  });
}

function formatInspect(s: {
  type: string;
  id: string;
  version: number;
  snapshot: { version: number; state: unknown; used: boolean } | null;
  replay: number;
  outbox: number;
  events: Array<{ version: number; event: unknown }>;
}): string {
  const lines = [`${s.type}/${s.id}   version ${s.version}`];
  if (s.snapshot === null) lines.push("snapshot   none");
  else
    lines.push(
      `snapshot   version ${s.snapshot.version}${s.snapshot.used ? "" : " (not used: the journal does not confirm it)"}   ${JSON.stringify(s.snapshot.state)}`,
    );
  lines.push(`replay     ${s.replay} events after the snapshot on load`);
  if (s.outbox > 0) lines.push(`outbox     ${s.outbox} messages to other actors not yet acknowledged`);
  lines.push(...s.events.map((e) => `  v${e.version}  ${JSON.stringify(e.event)}`));
  return lines.join("\n");
}

/** The actor's state from its owner, or why there is none. */
async function ownersView(nc: NatsConnection, cluster: string, key: { type: string; id: string }): Promise<{ state?: ActorState; why?: string }> {
  try {
    return { state: await inspectAt(nc, cluster, await requireStoredMap(nc, cluster), key) };
  } catch (err) {
    return { why: (err as Error).message };
  }
}

function formatState(s: { state?: ActorState; why?: string }): string {
  if (s.state === undefined) return `state      unavailable (${s.why})`;
  const where = s.state.active ? `in memory on ${s.state.node}` : `loaded on ${s.state.node} for this`;
  return `state      version ${s.state.version}, ${where}   ${JSON.stringify(s.state.state)}`;
}
