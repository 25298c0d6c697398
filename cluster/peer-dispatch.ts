import { type ReplyTo, settleWith } from "../src/reply-to.js";
import type { Migrations } from "./migration.js";
import type { Router } from "./router.js";
import type { RpcRequest } from "./wire.js";

/**
 * Where a peer's request goes on this node: a forwarded ask to the router (which serves it here
 * or sends it on), a migration's tail message, handoff batch or tail end to the migrations.
 */
export function peerDispatch(router: Router, migrations: Migrations): (req: RpcRequest, to: ReplyTo) => void {
  return (req, to) => {
    if (req.k === "ask" && req.tail === undefined) return router.handleForwarded(req, to);
    settleWith(req.k === "ask" ? migrations.onTailAsk(req) : req.k === "handoff" ? migrations.onHandoff(req) : migrations.onTailEnd(req), to);
  };
}
