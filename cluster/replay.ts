import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { checkActorId, checkActorTypeName } from "../src/actor/names.js";
import { BadRequestError, errorFromWire, errorToWire, UnavailableError } from "../src/errors.js";
import { adminSubject, clusterBuckets, snapshotKey } from "../src/nats-names.js";
import { replayFromCheckpoint, startRebuild } from "../src/projection/admin.js";
import { ProjectionBucket } from "../src/projection/bucket.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { ownerIn } from "../src/routing/actor-shard.js";
import type { ShardMap } from "../src/routing/shard-map.js";
import type { ActorKey, EventStore } from "../src/store/types.js";

/**
 * An operator's replay (`shoal replay`, `POST /admin/replay`):
 * - an actor: its owner drops it from memory, optionally drops its snapshot, and loads it again
 *   from the journal (messages that arrive meanwhile wait, then run in order);
 * - a projection: `checkpoint-only` sets the serving build's checkpoints back to `from` (default
 *   0) and keeps the view (the handler sees those events again: at least once); `full-reset`
 *   builds it again from the start beside the serving build, which keeps answering reads until
 *   the new one has caught up (a rebuild: no window with an empty view).
 */
/** Replays an actor: its owner reloads it from the journal. */
export interface ActorReplay {
  /** Which actor. */
  readonly actor: ActorKey;
  /** Drop its snapshot first, so the load replays its whole journal. */
  readonly dropSnapshot?: boolean;
}

/** Replays a projection (see the modes above). */
export interface ProjectionReplay {
  /** The projection's name. */
  readonly projection: string;
  /** `checkpoint-only` (keep the view, handle events again from `from`) or `full-reset` (a rebuild beside it). */
  readonly mode: "checkpoint-only" | "full-reset";
  /** checkpoint-only: the stream sequence to go back to (default 0, the start). */
  readonly from?: number;
}

/** What `shoal replay` and `POST /admin/replay` take. */
export type ReplayRequest = ActorReplay | ProjectionReplay;

/** What an actor's replay did. */
export interface ActorReplayed {
  /** Which actor. */
  readonly actor: ActorKey;
  /** The node that reloaded it (its owner). */
  readonly node: string;
  /** Whether it was in memory before. */
  readonly wasActive: boolean;
  /** Whether a snapshot was there to drop. */
  readonly droppedSnapshot: boolean;
  /** Its version after the reload. */
  readonly version: number;
}

/** What a projection's replay did. */
export interface ProjectionReplayed {
  /** The projection's name. */
  readonly projection: string;
  /** The mode asked for. */
  readonly mode: string;
  /** checkpoint-only: the build set back; full-reset: the new build. */
  readonly build: number;
}

/** What a replay answers. */
export type ReplayResult = ActorReplayed | ProjectionReplayed;

/** What an actor's owner says of its state (`shoal inspect`). */
export interface ActorState {
  /** Which actor. */
  readonly actor: ActorKey;
  /** The node that answered (its owner). */
  readonly node: string;
  /** Its version. */
  readonly version: number;
  /** Its state in its type's snapshot form. */
  readonly state: unknown;
  /** Whether it was in memory (else it was loaded for this and dropped again). */
  readonly active: boolean;
}

/** Checks an inspect request `{inspect: {type, id}}` (BAD_REQUEST otherwise). */
export function parseInspect(body: unknown): ActorKey | undefined {
  if (typeof body !== "object" || body === null || !("inspect" in body)) return undefined;
  const a = (body as { inspect: unknown }).inspect as Record<string, unknown> | null;
  if (typeof a !== "object" || a === null) throw new BadRequestError("inspect must be {type, id}");
  return { type: checkActorTypeName(a.type), id: checkActorId(a.id) };
}

/** An actor's state on its owner (this node). */
export async function inspectHere(here: { nodeId: string; runtime: Runtime }, actor: ActorKey): Promise<ActorState> {
  const seen = await here.runtime.peek(actor.type, actor.id);
  return { actor, node: here.nodeId, version: seen?.version ?? 0, state: seen?.state ?? null, active: seen?.active ?? false };
}

/** Asks an actor's owner by the map for its state; rejects with the owner's error. */
export async function inspectAt(nc: NatsConnection, cluster: string, map: ShardMap, actor: ActorKey, timeout = 5000): Promise<ActorState> {
  return (await adminRequest(nc, cluster, map, actor, { inspect: actor }, timeout)) as ActorState;
}

/** Checks a replay request from outside (BAD_REQUEST with what is wrong). */
export function parseReplay(body: unknown): ReplayRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new BadRequestError("a replay is a JSON object with actor or projection");
  const b = body as Record<string, unknown>;
  if ("actor" in b) {
    const a = b.actor as Record<string, unknown> | null;
    if (typeof a !== "object" || a === null) throw new BadRequestError("actor must be {type, id}");
    if (b.dropSnapshot !== undefined && typeof b.dropSnapshot !== "boolean") throw new BadRequestError("dropSnapshot must be a boolean");
    return { actor: { type: checkActorTypeName(a.type), id: checkActorId(a.id) }, dropSnapshot: b.dropSnapshot === true };
  }
  if (typeof b.projection !== "string") throw new BadRequestError("a replay names an actor {type, id} or a projection");
  if (b.mode !== "checkpoint-only" && b.mode !== "full-reset") throw new BadRequestError('mode must be "checkpoint-only" or "full-reset"');
  if (b.from !== undefined && (!Number.isInteger(b.from) || (b.from as number) < 0))
    throw new BadRequestError("from must be a stream sequence (a non-negative integer)");
  return { projection: b.projection, mode: b.mode, ...(b.from === undefined ? {} : { from: b.from as number }) };
}

/** A projection's replay: writes to its bucket (the nodes follow). */
export async function replayProjection(nc: NatsConnection, cluster: string, req: ProjectionReplay): Promise<ReplayResult> {
  const bucket = await ProjectionBucket.open({ nc, cluster, name: req.projection });
  if (req.mode === "full-reset") {
    const meta = await startRebuild(bucket, Date.now());
    return { projection: req.projection, mode: req.mode, build: meta.building! };
  }
  return { projection: req.projection, mode: req.mode, build: await replayFromCheckpoint(bucket, Date.now(), req.from ?? 0) };
}

/** An actor's replay on its owner (this node). */
export async function replayActorHere(
  here: { nc: NatsConnection; cluster: string; nodeId: string; runtime: Runtime; store: EventStore },
  req: ActorReplay,
): Promise<ReplayResult> {
  const { type, id } = req.actor;
  if (here.runtime.kindOf(type) !== "event-sourced") throw new BadRequestError(`${type} is not an event-sourced type here: it has no journal to load from`);
  let droppedSnapshot = false;
  const wasActive = await here.runtime.reload(type, id, async () => {
    if (req.dropSnapshot !== true) return;
    const kv = await new Kvm(here.nc).open(clusterBuckets(here.cluster).snapshots);
    droppedSnapshot = (await kv.get(snapshotKey({ type, id })))?.operation === "PUT";
    await kv.purge(snapshotKey({ type, id }));
  });
  return { actor: { type, id }, node: here.nodeId, wasActive, droppedSnapshot, version: await here.store.version({ type, id }) };
}

/** Sends an actor's replay to its owner by the map (its admin subject); rejects with the owner's error. */
export async function replayActorAt(nc: NatsConnection, cluster: string, map: ShardMap, req: ActorReplay, timeout = 30_000): Promise<ReplayResult> {
  return (await adminRequest(nc, cluster, map, req.actor, req, timeout)) as ReplayResult;
}

/** Sends an admin request about `actor` to its owner by the map; its `ok`, or its error thrown. */
async function adminRequest(nc: NatsConnection, cluster: string, map: ShardMap, actor: ActorKey, body: unknown, timeout: number): Promise<unknown> {
  const owner = ownerIn(map, actor.type, actor.id);
  if (owner === null || owner === undefined) throw new UnavailableError(`no node owns ${actor.type}/${actor.id} now`);
  const reply = await nc.request(adminSubject(cluster, owner), new TextEncoder().encode(JSON.stringify(body)), { timeout });
  const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { ok?: unknown; error?: unknown };
  if (answer.error !== undefined) throw errorFromWire(answer.error);
  return answer.ok;
}

/** The JSON answer of an admin request: `{ok}` or `{error}` (the wire form of a ShoalError). */
export function adminAnswer(result: ReplayResult | ActorState | undefined, err?: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(err === undefined ? { ok: result } : { error: errorToWire(err) }));
}
