import { DeadLetters, type StoredDeadLetter } from "../../src/projection/dead-letters.js";
import { positiveInt, UsageError } from "../args.js";
import { operatorArgs, readCluster } from "../read-cluster.js";
import { formatTable } from "../table.js";

export const dlqUsage = `shoal dlq list [<projection>] [--json]
shoal dlq show <key> [--json]
shoal dlq retry <key>... [--wait MS]
shoal dlq drop <key>...
  [--nats URL] [--cluster NAME]

The cluster's dead letters: events a projection's handler kept failing on, kept in the KV
bucket shoal-dlq-<cluster> under <projection>.b<build>.<seq>-<index>.
retry  asks the partition's owner to apply the event again (once fixed, it is applied
       exactly once) and waits up to --wait (default 15000) for the outcome.
drop   forgets a dead letter (the event stays unapplied).

  example: shoal dlq retry account-balances.b1.1042-0`;

/** Runs `shoal dlq`. */
export async function runDlq(argv: string[]): Promise<number> {
  const given = operatorArgs(argv, dlqUsage, { wait: { type: "string" } });
  if (given === undefined) return 0;
  const { values, positionals } = given;
  const [what, ...args] = positionals;
  const wait = positiveInt("wait", values.wait as string | undefined, 15_000);
  let failed = false;
  const code = await readCluster(values, "shoal-dlq", async (nc, cluster) => {
    const dlq = await DeadLetters.open(nc, cluster);
    switch (what) {
      case "list": {
        if (args.length > 1) throw new UsageError("dlq list takes at most a projection name");
        const list = await dlq.list(args[0]);
        return values.json ? JSON.stringify(list) : formatDeadLetters(list);
      }
      case "show": {
        if (args.length !== 1) throw new UsageError("dlq show takes <key>");
        const d = (await dlq.list()).find((x) => x.key === args[0]);
        if (d === undefined) {
          failed = true;
          return `no dead letter ${args[0]}`;
        }
        return values.json ? JSON.stringify(d) : JSON.stringify(d, null, 2);
      }
      case "retry":
      case "drop": {
        if (args.length === 0) throw new UsageError(`dlq ${what} takes one key or more`);
        const lines: string[] = [];
        for (const key of args) {
          const line = what === "drop" ? await drop(dlq, key) : await retry(dlq, key, wait);
          if (!line.ok) failed = true;
          lines.push(line.text);
        }
        return lines.join("\n");
      }
      default:
        throw new UsageError("dlq takes list, show, retry or drop");
    }
  });
  return code === 0 && failed ? 1 : code;
}

async function drop(dlq: DeadLetters, key: string): Promise<{ ok: boolean; text: string }> {
  const { value } = await dlq.get(key);
  if (value === undefined) return { ok: false, text: `${key}: no such dead letter` };
  await dlq.drop(key);
  return { ok: true, text: `${key}: dropped` };
}

/** Marks a dead letter for retry, then waits until its owner applied it (the key goes) or failed it again (back to dead). */
async function retry(dlq: DeadLetters, key: string, waitMs: number): Promise<{ ok: boolean; text: string }> {
  const { value, revision } = await dlq.get(key);
  if (value === undefined) return { ok: false, text: `${key}: no such dead letter` };
  const asked = await dlq.update({ ...value, state: "retry" }, revision);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const now = await dlq.get(key);
    if (now.value === undefined) return { ok: true, text: `${key}: applied` };
    if (now.revision !== asked && now.value.state === "dead")
      return { ok: false, text: `${key}: failed again after ${now.value.attempts} attempts: ${now.value.error}` };
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ok: false, text: `${key}: asked for, not applied within ${waitMs} ms (is a node running projection ${value.projection}?)` };
}

/** The human-readable table. */
export function formatDeadLetters(list: readonly StoredDeadLetter[]): string {
  if (list.length === 0) return "no dead letters";
  const rows = list.map((d) => [d.key, `${d.type}/${d.id}@${d.version}`, String(d.attempts), new Date(d.at).toISOString(), d.state, d.error.slice(0, 80)]);
  return formatTable(["KEY", "EVENT", "ATTEMPTS", "AT", "STATE", "ERROR"], rows).join("\n");
}
