import { actorType } from "../../src/actor/calls.js";
import { ShoalClient } from "../../src/client.js";
import { ShoalError } from "../../src/errors.js";
import { parse, positiveInt, UsageError } from "../args.js";
import { connectTo } from "../connect.js";
import { clusterSetting, connectionFlags, connectionSettings, Settings } from "../settings.js";

/** The three ways to call an actor from the command line, as on a reference. */
export type CallVerb = "ask" | "send" | "tell";

const what: Record<CallVerb, string> = {
  ask: "Asks an actor through the ingress and prints its reply as JSON.",
  send: "Sends a message through the ingress and waits until the actor has applied it (prints nothing).",
  tell: "Tells an actor a message through the ingress and returns once a node has taken it: nothing of the turn comes back.",
};

/** The usage of `shoal <verb>`. */
export function callUsage(verb: CallVerb): string {
  return `shoal ${verb} <type> <id> <json> [--nats URL] [--cluster NAME] [--timeout MS]

${what[verb]} On failure${verb === "tell" ? " (no node took it)" : ""} prints
"<CODE>: <message>" to stderr and exits 1.

  example: shoal ${verb} account alice '${verb === "ask" ? '{"balance":{}}' : '{"deposit":{"amount":5,"txn":"t-1"}}'}'`;
}

/** Runs `shoal ask|send|tell`. */
export async function runCall(verb: CallVerb, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...connectionFlags, cluster: { type: "string" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (values.help) {
    console.log(callUsage(verb));
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError(`${verb} takes exactly <type> <id> <json>`);
  const [type, id, json] = positionals as [string, string, string];
  let msg: unknown;
  try {
    msg = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`the message is not JSON: ${(err as Error).message}`);
  }
  const settings = Settings.load(values, ["nats", "user", "password", "token", "creds", "tls-ca", "cluster"]);
  const { url, auth } = connectionSettings(settings);
  const cluster = clusterSetting(settings);
  const timeout = positiveInt("timeout", values.timeout, 10_000);
  const nc = await connectTo(url, `shoal-${verb}`, auth);
  let client: ShoalClient | undefined;
  let untold: ShoalError | undefined;
  try {
    client = new ShoalClient(nc, cluster, {
      onTellFailed: (err) => {
        untold = err;
      },
    });
    const ref = client.ref(actorType(type), id);
    if (verb === "ask") console.log(JSON.stringify(await ref.ask(msg, { timeout })));
    else if (verb === "send") await ref.send(msg, { timeout });
    else {
      await ref.tell(msg, { timeout });
      await client.close(); // once a node has taken it (or none did)
      if (untold !== undefined) throw untold;
    }
    return 0;
  } catch (err) {
    if (!ShoalError.is(err)) throw err;
    console.error(`${err.code}: ${err.message}`);
    return 1;
  } finally {
    await client?.close();
    await nc.close();
  }
}
