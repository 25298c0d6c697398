/** Every chaos scenario, in the order `npm run chaos` runs them. */
import * as concurrentWriters from "./concurrent-writers.js";
import * as leaderDelete from "./leader-delete.js";
import * as natsFullRestart from "./nats-full-restart.js";
import * as natsServerKill from "./nats-server-kill.js";
import * as nodeCut from "./node-cut.js";
import * as nodeSilentLink from "./node-silent-link.js";
import * as ownerKill from "./owner-kill-mid-migration.js";
import * as rollingRestart from "./rolling-restart.js";
import * as transfers from "./transfers.js";
import * as zombie from "./zombie-owner.js";
import type { Scenario } from "./types.js";

export const scenarios: Scenario[] = [
  { name: ownerKill.name, describe: "SIGKILL a source node mid-migration (a join under load)", run: ownerKill.run },
  { name: natsServerKill.name, describe: "kill one of 3 NATS servers 3 times, R3, under load", run: natsServerKill.run },
  { name: rollingRestart.name, describe: "replace and drain every node in turn, under load", run: rollingRestart.run },
  { name: nodeCut.name, describe: "cut one node off NATS (TCP proxy) for 30 s, then heal", run: nodeCut.run },
  { name: nodeSilentLink.name, describe: "freeze one node's link to NATS (no reset) for 30 s: every actor answers within 10 s", run: nodeSilentLink.run },
  { name: natsFullRestart.name, describe: "SIGKILL all 3 NATS servers, restart from their stores", run: natsFullRestart.run },
  { name: zombie.name, describe: "SIGSTOP an owner past its TTL, then SIGCONT: its writes are rejected", run: zombie.run },
  { name: leaderDelete.name, describe: "delete the leader key (a delete marker): one new leader", run: leaderDelete.run },
  { name: transfers.name, describe: "transfers among 100 accounts: SIGKILL, join, drain, a NATS server restart (R3)", run: transfers.run },
  { name: concurrentWriters.name, describe: "8 writers, one expected version, 3 servers: one wins", run: concurrentWriters.run },
];
