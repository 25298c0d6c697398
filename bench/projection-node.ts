import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ShoalNode } from "../cluster/node.js";
import { trackChild, waitFor } from "../local-nats/index.js";
import { account } from "../src/actors/account.js";
import { createLogger } from "../src/log.js";
import { defineProjection } from "../src/projection/define.js";
import type { ProjectionDefinition } from "../src/projection/spec.js";
import { accountBalances } from "../src/projections/account-balances.js";
import { FAST_TIMING, waitStable } from "./nodes.js";

/** Shards of the projection bench's clusters. */
export const SHARDS = 64;

/** How the projection bench runs a node: `partitions` 0 runs none (the baseline cluster). */
export interface ProjectionNodeOptions {
  url: string;
  id: string;
  cluster: string;
  shards: number;
  partitions: number;
  /**
   * Read the whole journal (`from: {subjects: [">"]}`, the stream's own subject filter) and skip
   * other types in the handler, instead of `from: [account]` (the filter `account.*`).
   */
  wholeJournal?: boolean;
}

/**
 * A node process for the projection bench: the built-in `account` and the shipped
 * `account-balances` projection with `partitions` partitions (the example's 4, or another count
 * under the same name). `shoal node` has no flag for projections, so the bench starts this
 * script: the same `ShoalNode.start` with `projections` added. SIGTERM stops it (no drain: the
 * bench is done with its cluster).
 */
export class ProjectionNode {
  private output = "";
  readonly exited: Promise<number | null>;

  private constructor(
    readonly id: string,
    readonly child: ChildProcess,
  ) {
    trackChild(child);
    child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static start(o: ProjectionNodeOptions): ProjectionNode {
    const args = ["--nats", o.url, "--id", o.id, "--cluster", o.cluster, "--shards", String(o.shards), "--partitions", String(o.partitions)];
    if (o.wholeJournal === true) args.push("--whole-journal");
    const execArgv = (process.env.SHOAL_NODE_EXEC_ARGV ?? "").split(" ").filter((a) => a !== "");
    const child = spawn(process.execPath, [...execArgv, fileURLToPath(import.meta.url), ...args], {
      env: { ...process.env, SHOAL_LOG_LEVEL: process.env.SHOAL_NODE_LOG_LEVEL ?? "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new ProjectionNode(o.id, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once the node applied its first shard map. */
  ready(timeout = 60_000): Promise<void> {
    return waitFor(() => this.output.includes("projection-node ready"), {
      timeout,
      message: `${this.id} never became ready:\n${this.output.slice(-3000)}`,
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}

/**
 * Starts `count` nodes `<prefix>-1…` on `cluster` and waits until every one is up and the
 * cluster settled on them. Stops them all when one fails to come up.
 */
export async function startProjectionNodes(
  nc: NatsConnection,
  count: number,
  o: Omit<ProjectionNodeOptions, "id"> & { prefix: string },
  timeout = 60_000,
): Promise<ProjectionNode[]> {
  const { prefix, ...rest } = o;
  const nodes = Array.from({ length: count }, (_, i) => ProjectionNode.start({ ...rest, id: `${prefix}-${i + 1}` }));
  try {
    await Promise.all(nodes.map((p) => p.ready(timeout)));
    await waitStable(
      nc,
      o.cluster,
      nodes.map((p) => p.id),
      o.shards,
      timeout,
    );
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((p) => p.stop()));
    throw err;
  }
}

/** `account-balances` with another partition count, or reading the whole journal (same name, same rows). */
function balancesWith(partitions: number, wholeJournal: boolean): ProjectionDefinition {
  if (wholeJournal) {
    return defineProjection({
      name: accountBalances.name,
      from: { subjects: [">"] },
      partitions,
      handle: (e, ctx) => (e.type === account.type ? accountBalances.handle(e, ctx) : undefined),
    });
  }
  if (partitions === accountBalances.partitions.count) return accountBalances;
  return defineProjection({ name: accountBalances.name, from: [account], partitions, handle: accountBalances.handle });
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      nats: { type: "string" },
      id: { type: "string" },
      cluster: { type: "string" },
      shards: { type: "string" },
      partitions: { type: "string" },
      "whole-journal": { type: "boolean" },
    },
  });
  const partitions = Number(v.partitions);
  const nc = await connect({ servers: v.nats!, name: `bench-projection-${v.id}`, noAsyncTraces: true });
  const node = await ShoalNode.start({
    nc,
    cluster: v.cluster!,
    nodeId: v.id!,
    actors: [account],
    projections: partitions > 0 ? [balancesWith(partitions, v["whole-journal"] === true)] : [],
    logger: createLogger({ node: v.id, cluster: v.cluster }),
    shardCount: Number(v.shards),
    heartbeatInterval: FAST_TIMING.heartbeat,
    memberTtl: FAST_TIMING.memberTtl,
    leaderTtl: FAST_TIMING.leaderTtl,
  });
  await node.mapped;
  console.log("projection-node ready");
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await node.stop();
  await nc.close();
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
