import { type BuildReport, gatherProjectionStatus, type ProjectionReport } from "../../cluster/projection-status.js";
import { resume, startRebuild } from "../../src/projection/admin.js";
import { ProjectionBucket } from "../../src/projection/bucket.js";
import { positiveInt, UsageError } from "../args.js";
import { operatorArgs, readCluster } from "../read-cluster.js";
import { formatTable } from "../table.js";

export const projectionUsage = `shoal projection status [<name>] [--json]
shoal projection rebuild <name> [--partitions N]
shoal projection resume <name>
  [--nats URL] [--cluster NAME]

status   per projection, and per partition of the serving build (and of one being built):
         its owner, checkpoint (stream sequence), lag in journal batches and in seconds,
         rate (events/s), events applied and dead-lettered, and whether it stopped.
rebuild  builds the projection again from the start of the journal, beside the serving
         build: reads switch to it once it has caught up, and the old build is dropped.
resume   starts again the partitions that stopped on a failing event (onFailure "stop").

  example: shoal projection rebuild account-balances`;

/** Runs `shoal projection`. */
export async function runProjection(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, projectionUsage, { partitions: { type: "string" } });
  if (given === undefined) return 0;
  const { values, positionals } = given;
  const [what, name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(" ")}`);
  if (what === "status") {
    return readCluster(values, "shoal-projection", async (nc, cluster) => {
      const reports = await gatherProjectionStatus(nc, cluster, name);
      return values.json ? JSON.stringify(reports) : formatProjections(reports);
    });
  }
  if (what !== "rebuild" && what !== "resume") throw new UsageError("projection takes status, rebuild or resume");
  if (name === undefined) throw new UsageError(`projection ${what} takes <name>`);
  const partitions = values.partitions === undefined ? undefined : positiveInt("partitions", values.partitions as string, 1);
  return readCluster(values, "shoal-projection", async (nc, cluster) => {
    const bucket = await ProjectionBucket.open({ nc, cluster, name });
    if (what === "resume") {
      const meta = await resume(bucket);
      return `resumed ${name}: its stopped partitions start again (resume #${meta.resumes})`;
    }
    const meta = await startRebuild(bucket, Date.now(), partitions);
    return `rebuilding ${name} as build ${meta.building} (${meta.builds[String(meta.building)]?.partitions} partitions) beside build ${meta.serving}; reads switch once it has caught up (see shoal projection status ${name})`;
  });
}

/** The human-readable report. */
export function formatProjections(reports: readonly ProjectionReport[]): string {
  if (reports.length === 0) return "no projections";
  return reports
    .flatMap((p) => [
      `${p.name}   serving build ${p.serving}${p.building === null ? "" : `   building ${p.building}`}   dead letters ${p.deadLetters}`,
      ...p.builds.flatMap(formatBuild),
      "",
    ])
    .join("\n")
    .trimEnd();
}

function formatBuild(b: BuildReport): string[] {
  const rows = b.partitions.map((r) => [
    `b${b.build}/${r.partition}`,
    r.owner ?? "(none)",
    String(r.checkpoint),
    String(r.lag),
    r.lagSeconds.toFixed(1),
    r.rate.toFixed(0),
    String(r.applied),
    String(r.deadLettered),
    r.stopped === null ? "" : `STOPPED: ${r.stopped}`,
  ]);
  return [
    `  ${b.role}`,
    ...formatTable(
      ["  PARTITION", "OWNER", "CHECKPOINT", "LAG", "LAG S", "RATE", "APPLIED", "DEAD", ""],
      rows.map((r) => [`  ${r[0]}`, ...r.slice(1)]),
    ),
  ];
}
