import { ActorMovedError, unknownActorType, UnavailableError } from "../src/errors.js";
import type { Asker } from "../src/ingress/ingress.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { ShardMap } from "./placement.js";
import { shardOf } from "./shard-hash.js";

/**
 * Serves only the shards this node owns in the current map; any other ask gets ACTOR_MOVED
 * naming the owner this node knows (or UNAVAILABLE before the first map). The router of the
 * routing issue will forward instead of refusing; the check stays as its last line.
 */
export class OwnershipGuard implements Asker {
  constructor(
    private readonly runtime: Runtime,
    private readonly nodeId: string,
    private readonly currentMap: () => ShardMap | undefined,
  ) {}

  ask(type: string, id: string, msg: unknown, opts?: { timeout?: number }): Promise<unknown> {
    if (!this.runtime.hosts(type)) return Promise.reject(unknownActorType(type));
    const map = this.currentMap();
    if (map === undefined) return Promise.reject(new UnavailableError("this node has no shard map yet"));
    const shard = shardOf(type, id, map.shardCount);
    const owner = map.owners[shard] ?? null;
    if (owner !== this.nodeId) {
      return Promise.reject(
        new ActorMovedError(owner === null ? `shard ${shard} has no owner yet` : `shard ${shard} is owned by ${owner}`, {
          details: { shard, owner, mapVersion: map.version },
        }),
      );
    }
    return this.runtime.ask(type, id, msg, opts);
  }
}
