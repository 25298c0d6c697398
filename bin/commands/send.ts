import { ShoalClient } from "../../src/client.js";
import { ShoalError } from "../../src/errors.js";
import { parse, positiveInt, UsageError } from "../args.js";
import { clusterSetting, connectionFlags, connectionSettings, Settings } from "../settings.js";
import { connectTo } from "../connect.js";

export const sendUsage = `shoal send <type> <id> <json> [--nats URL] [--cluster NAME] [--timeout MS]

Sends one message through the ingress and prints the reply as JSON. On failure prints
"<CODE>: <message>" to stderr and exits 1.

  example: shoal send account alice '{"deposit":{"amount":5,"txn":"t-1"}}'`;

export async function runSend(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...connectionFlags, cluster: { type: "string" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (values.help) {
    console.log(sendUsage);
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError("send takes exactly <type> <id> <json>");
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
  const nc = await connectTo(url, "shoal-send", auth);
  try {
    const reply = await new ShoalClient(nc, cluster).ask(type, id, msg, { timeout });
    console.log(JSON.stringify(reply));
    return 0;
  } catch (err) {
    if (!ShoalError.is(err)) throw err;
    console.error(`${err.code}: ${err.message}`);
    return 1;
  } finally {
    await nc.close();
  }
}
