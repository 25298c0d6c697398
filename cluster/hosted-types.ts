import { UnknownActorTypeError } from "../src/errors.js";
import type { MemberRecord } from "./membership.js";

/**
 * The error for a message that reached `nodeId`, which owns its shard but does not host its
 * type (the runtime's `unknownType`): it names the nodes whose membership records list the
 * type, so a cluster whose nodes host different types says so instead of failing for some ids
 * and not others without a reason.
 */
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
