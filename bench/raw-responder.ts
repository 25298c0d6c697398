/**
 * The raw baselines of the remote benches, run as their own process with a plain nats.js
 * connection:
 * - `<subject>`: every request is answered with its own payload (request-reply echo);
 * - `<subject>.sink`: messages are counted (publish → subscribe);
 * - `<subject>.wait`: a request carrying N (decimal text) is answered once N sink messages
 *   have arrived since the last answered wait.
 *
 *   node dist/bench/raw-responder.js <url> <subject>
 *
 * Prints "ready" on stdout once the subscriptions are on the server; exits on SIGTERM/SIGINT.
 */
import { connect, type Msg } from "@nats-io/transport-node";

async function main(): Promise<void> {
  const [url, subject] = process.argv.slice(2);
  if (url === undefined || subject === undefined) throw new Error("usage: raw-responder <url> <subject>");
  const nc = await connect({ servers: url, name: "bench-raw-peer", noAsyncTraces: true });
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err === null) msg.respond(msg.data);
    },
  });
  let count = 0;
  let waiting: { n: number; msg: Msg } | undefined;
  const check = () => {
    if (waiting === undefined || count < waiting.n) return;
    count -= waiting.n;
    waiting.msg.respond(new Uint8Array(0));
    waiting = undefined;
  };
  nc.subscribe(`${subject}.sink`, {
    callback: () => {
      count++;
      if (waiting !== undefined) check();
    },
  });
  nc.subscribe(`${subject}.wait`, {
    callback: (err, msg) => {
      if (err !== null) return;
      waiting = { n: Number(new TextDecoder().decode(msg.data)), msg };
      check();
    },
  });
  await nc.flush();
  console.log("ready");
  const stop = () => void nc.drain().finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
