import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { pinApplied, readMemberRecords, readStoredMap } from "../../cluster/cluster-status.js";
import { checkPin, checkTenant, pinKey, type PinRequest } from "../../cluster/pins.js";
import { decodeJson } from "../../src/codec/json.js";
import { clusterBuckets } from "../../src/nats-names.js";
import { UsageError } from "../args.js";
import { operatorArgs, readCluster } from "../read-cluster.js";
import { formatTable } from "../table.js";
import { pinFallback } from "./status.js";

export const pinUsage = `shoal pin set <type> <tenant> --node N | --role R
shoal pin rm <type> <tenant>
shoal pin list [--json]
  [--nats URL] [--cluster NAME]

Tenant pinning. An actor type's tenant is a function of the id (by default the prefix before
the first "/", the whole id without one). "pin set" runs every actor of the tenant on node N,
or on a node with role R; the leader gives the tenant a shard of its own and moves its actors
there live, with the same handoff as a shard move; setting it again moves them again. "pin rm"
drops the pin: the tenant keeps its shard, placed like any other. A pin to a node that is not
in the cluster (or cannot host the type's roles) falls back to the type's nodes, and "pin list"
says so. --json prints [{type, tenant, node?, role?, shard, owner, applied}].

  example: shoal pin set account acme --node n2`;

/** Runs `shoal pin set|rm|list`. */
export async function runPin(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, pinUsage, { node: { type: "string" }, role: { type: "string" } });
  if (given === undefined) return 0;
  const { values, positionals } = given;
  const [verb, type, tenant, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError("too many arguments");
  if (verb === "list") {
    if (type !== undefined) throw new UsageError("pin list takes no arguments");
    return readCluster(values, "shoal-pin", async (nc, cluster) => {
      const rows = await pinRows(nc, cluster);
      return values.json ? JSON.stringify(rows) : formatPins(rows);
    });
  }
  if (verb !== "set" && verb !== "rm") throw new UsageError("pin takes set, rm or list");
  if (type === undefined || tenant === undefined) throw new UsageError(`pin ${verb} takes <type> <tenant>`);
  let pin: PinRequest | undefined;
  let who: { type: string; tenant: string };
  try {
    who = checkTenant(type, tenant);
    if (verb === "set") pin = checkPin({ type, tenant, node: values.node, role: values.role });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return readCluster(values, "shoal-pin", async (nc, cluster) => {
    const kv = await openPins(nc, cluster);
    if (pin === undefined) {
      await kv.delete(pinKey(who.type, who.tenant));
      return `unpinned ${who.type} tenant ${JSON.stringify(who.tenant)} (it keeps its shard, placed like any other)`;
    }
    await kv.put(pinKey(pin.type, pin.tenant), JSON.stringify(pin));
    return `pinned ${pin.type} tenant ${JSON.stringify(pin.tenant)} to ${pin.node !== undefined ? `node ${pin.node}` : `role ${pin.role}`}`;
  });
}

/** One pin as `pin list` shows it. */
export interface PinRow {
  type: string;
  tenant: string;
  node?: string;
  role?: string;
  /** The tenant's shard in the stored map (null until the leader has applied the pin). */
  shard: number | null;
  /** That shard's owner now. */
  owner: string | null;
  /** Whether the owner is where the pin says (false: not applied yet, or fallen back). */
  applied: boolean;
}

async function openPins(nc: NatsConnection, cluster: string) {
  const name = clusterBuckets(cluster).pins;
  try {
    const kv = await new Kvm(nc).open(name);
    await kv.status();
    return kv;
  } catch (err) {
    throw new Error(`no cluster named ${JSON.stringify(cluster)} with tenant pins on this NATS server (bucket ${name} is missing)`, { cause: err });
  }
}

/** The pins in the bucket, each with its shard and owner in the stored map. */
async function pinRows(nc: NatsConnection, cluster: string): Promise<PinRow[]> {
  const kv = await openPins(nc, cluster);
  const kvm = new Kvm(nc);
  const names = clusterBuckets(cluster);
  const map = await readStoredMap(await kvm.open(names.map));
  const records = await readMemberRecords(await kvm.open(names.members));
  const rows: PinRow[] = [];
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (e === null || e.operation !== "PUT") continue;
    let pin: PinRequest;
    try {
      pin = checkPin(decodeJson(e.value));
    } catch {
      continue;
    }
    const inMap = map?.pins?.find((p) => p.type === pin.type && p.tenant === pin.tenant);
    const owner = inMap === undefined ? null : (map!.owners[inMap.shard] ?? null);
    rows.push({ ...pin, shard: inMap?.shard ?? null, owner, applied: pinApplied(pin, owner, records) });
  }
  return rows.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.tenant < b.tenant ? -1 : 1));
}

/** The human-readable table, with a warning per pin that is not where it says. */
export function formatPins(rows: readonly PinRow[]): string {
  if (rows.length === 0) return "no pins";
  const table = formatTable(
    ["TYPE", "TENANT", "PINNED TO", "SHARD", "OWNER"],
    rows.map((r) => [r.type, r.tenant, r.node !== undefined ? `node ${r.node}` : `role ${r.role}`, r.shard === null ? "-" : String(r.shard), r.owner ?? "-"]),
  );
  const warnings = rows
    .filter((r) => !r.applied)
    .map((r) =>
      r.shard === null
        ? `warning: ${r.type} tenant ${JSON.stringify(r.tenant)} is not in the map yet (the leader applies pins after its debounce)`
        : pinFallback(r),
    );
  return [...table, ...(warnings.length > 0 ? ["", ...warnings] : [])].join("\n");
}
