import { UnknownActorTypeError } from "../src/errors.js";
import type { ReplyTo } from "../src/reply-to.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { MemberRecord } from "./membership.js";
import type { LocalActors } from "./router.js";

/**
 * This node's actors as the router reaches them: the runtime, for the types it hosts. A message
 * for a type it does not host, in a shard it owns, fails with UNKNOWN_ACTOR_TYPE naming the
 * nodes that host the type (from their membership records), so a cluster whose nodes host
 * different types says so instead of failing for some ids and not others without a reason.
 */
export function hostedActors(runtime: Runtime, nodeId: string, members: () => readonly MemberRecord[]): LocalActors {
  return {
    deliver(type: string, id: string, msg: unknown, deadline: number, to: ReplyTo): void {
      if (runtime.hosts(type)) return runtime.deliver(type, id, msg, deadline, to);
      to.fail(notHostedHere(type, nodeId, members()));
    },
  };
}

/** The error for a message that reached `nodeId`, which owns its shard but not its type. */
export function notHostedHere(type: string, nodeId: string, members: readonly MemberRecord[]): UnknownActorTypeError {
  const hostedBy = members
    .filter((m) => m.types?.includes(type))
    .map((m) => m.id)
    .sort();
  const shown = JSON.stringify(type.slice(0, 100));
  const where =
    hostedBy.length === 0
      ? `no node of the cluster hosts actor type ${shown}`
      : `actor type ${shown} is not hosted on node ${nodeId}, which owns this actor's shard; it is hosted on ${hostedBy.slice(0, 10).join(", ")}${hostedBy.length > 10 ? ", …" : ""}. Every node of a cluster must host the same actor types`;
  return new UnknownActorTypeError(where, { details: { type: type.slice(0, 100), node: nodeId, hostedBy: hostedBy.slice(0, 32) } });
}
