import { UsageError } from "./args.js";
import { demoUsage, runDemo } from "./commands/demo/demo.js";
import { nodeUsage, runNode } from "./commands/node.js";
import { callUsage, runCall } from "./commands/call.js";
import { initUsage, runInit } from "./commands/init.js";
import { runStatus, statusUsage } from "./commands/status.js";
import { remindersUsage, runReminders } from "./commands/reminders.js";
import { pinUsage, runPin } from "./commands/pin.js";
import { inspectUsage, runInspect } from "./commands/inspect.js";
import { runWatch, watchUsage } from "./commands/watch.js";
import { runView, viewUsage } from "./commands/view.js";
import { projectionUsage, runProjection } from "./commands/projection.js";
import { dlqUsage, runDlq } from "./commands/dlq.js";
import { replayUsage, runReplay } from "./commands/replay.js";

const usage = `shoal — a distributed actor cluster for TypeScript on NATS

Usage: shoal <command> [options]

Commands:
  init <dir>                    scaffold a TypeScript project with one actor, a client and tests
  demo                          start a local nats-server and a node, send messages, verify
  node                          run a node (hosts actors, serves shoal.<cluster>.ask)
  ask <type> <id> <json>        ask an actor through the ingress and print its reply
  send <type> <id> <json>       send a message and wait until the actor has applied it
  tell <type> <id> <json>       tell an actor a message, fire-and-forget
  status [--json]               leader, epoch, map version, each node's shards, actors, migrations
  reminders list <type> <id>    an actor's durable reminders: name, next due, schedule, message
  pin set|rm|list               pin a tenant's actors to a node or a role; see the pins
  inspect <type> <id>           an actor's journal: version, snapshot, replay length, last events
  watch [--json]                live cluster events: joins, leaves, leaders, maps, migrations
  view <projection> <key>       one entry of a projection's KV view
  projection status|rebuild|resume   projections: lag and owners per partition; rebuild; resume
  dlq list|show|retry|drop      dead letters of projections: see, apply again once fixed, forget
  replay actor|projection       reload an actor from its journal; replay a projection

Run "shoal <command> --help" for a command's options.`;

const commands: Record<string, { run: (argv: string[]) => Promise<number>; usage: string }> = {
  demo: { run: runDemo, usage: demoUsage },
  init: { run: runInit, usage: initUsage },
  node: { run: runNode, usage: nodeUsage },
  ask: { run: (argv) => runCall("ask", argv), usage: callUsage("ask") },
  send: { run: (argv) => runCall("send", argv), usage: callUsage("send") },
  tell: { run: (argv) => runCall("tell", argv), usage: callUsage("tell") },
  status: { run: runStatus, usage: statusUsage },
  reminders: { run: runReminders, usage: remindersUsage },
  pin: { run: runPin, usage: pinUsage },
  inspect: { run: runInspect, usage: inspectUsage },
  watch: { run: runWatch, usage: watchUsage },
  view: { run: runView, usage: viewUsage },
  projection: { run: runProjection, usage: projectionUsage },
  dlq: { run: runDlq, usage: dlqUsage },
  replay: { run: runReplay, usage: replayUsage },
};

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`shoal: unknown command ${JSON.stringify(name)}\n\n${usage}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`shoal ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    throw err;
  }
}
