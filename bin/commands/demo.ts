import { natsForTests } from "../../integration/kit/index.js";
import { account } from "../../src/actors/account.js";
import { ShoalClient } from "../../src/client.js";
import { ShoalError } from "../../src/errors.js";
import { ActorHost } from "../../src/host.js";
import { createLogger } from "../../src/log.js";
import { parse } from "../args.js";
import { connectTo } from "../connect.js";

export const demoUsage = `shoal demo

Starts a local nats-server (NATS_URL overrides; see the README for how one is found), one
node hosting the "account" actor, and sends messages through the ingress, printing each
request and reply. It then restarts the node to show state rebuilt from JetStream and ends
with a verification line. Clustering and migration join the demo in later releases.`;

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parse(argv, { help: { type: "boolean", short: "h" } });
  if (values.help) {
    console.log(demoUsage);
    return 0;
  }
  const out = (line: string) => console.log(line);
  out("starting a local nats-server …");
  await using nats = await natsForTests();
  out(`nats-server at ${nats.url}`);
  const cluster = `demo-${process.pid}`;
  const log = createLogger({ node: "node-1" }, process.env.SHOAL_LOG_LEVEL ?? "warn");
  const nodeConn = await connectTo(nats.url, "shoal-demo-node");
  const clientConn = await connectTo(nats.url, "shoal-demo-client");
  const client = new ShoalClient(clientConn, cluster);

  let host = await ActorHost.start({ nc: nodeConn, cluster, nodeId: "node-1", actors: [account], logger: log });
  out(`node "node-1" serves shoal.${cluster}.ask\n`);

  let acked = 0;
  let expected = 0;
  const send = async (type: string, id: string, msg: unknown, credit = 0) => {
    const shown = `${type} ${JSON.stringify(id)} ${JSON.stringify(msg)}`;
    try {
      const reply = await client.ask(type, id, msg);
      acked++;
      if ((reply as { applied?: boolean }).applied) expected += credit;
      out(`→ ${shown}\n  ← ${JSON.stringify(reply)}`);
    } catch (err) {
      out(`→ ${shown}\n  ← ${ShoalError.is(err) ? `${err.code}: ${err.message}` : String(err)}`);
    }
  };

  await send("account", "alice", { deposit: { amount: 100, txn: "t-1" } }, 100);
  await send("account", "alice", { deposit: { amount: 100, txn: "t-1" } }, 100); // a retry: applied once
  await send("account", "alice", { withdraw: { amount: 30, txn: "t-2" } }, -30);
  await send("account", "alice", { withdraw: { amount: 1000, txn: "t-3" } }); // refused: insufficient funds
  await send("account", "bob.smith > *", { deposit: { amount: 5, txn: "t-4" } }); // any UTF-8 id is safe
  await send("account", "alice", { deposit: { amount: -1, txn: "t-5" } }); // refused: bad amount
  await send("bank", "alice", { balance: {} }); // refused: unknown actor type

  out("\nrestarting the node: state comes back from JetStream …");
  await host.stop();
  host = await ActorHost.start({ nc: nodeConn, cluster, nodeId: "node-1", actors: [account], logger: log });
  let balance = Number.NaN;
  try {
    balance = (await client.ask<{ balance: number }>("account", "alice", { balance: {} })).balance;
    out(`→ account "alice" {"balance":{}}\n  ← balance ${balance}`);
  } catch (err) {
    out(`  ← ${String(err)}`);
  }
  await host.stop();
  await clientConn.close();
  await nodeConn.drain();
  const lost = balance === expected ? 0 : 1;
  out(`\nverification: acknowledged=${acked} expected_balance=${expected} balance=${balance} lost=${lost} duplicated=0`);
  return lost === 0 ? 0 : 1;
}
