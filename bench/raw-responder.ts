/**
 * The raw baseline of the remote-ask bench, run as its own process: a plain nats.js responder
 * answering every request on a subject with a fixed payload.
 *
 *   node dist/bench/raw-responder.js <url> <subject> <reply-bytes>
 *
 * Prints "ready" on stdout once the subscription is on the server; exits on SIGTERM/SIGINT.
 */
import { connect } from "@nats-io/transport-node";

async function main(): Promise<void> {
  const [url, subject, bytes] = process.argv.slice(2);
  if (url === undefined || subject === undefined) throw new Error("usage: raw-responder <url> <subject> [reply-bytes]");
  const nc = await connect({ servers: url, name: "bench-raw-responder" });
  const reply = new Uint8Array(Number(bytes ?? 128)).fill(120);
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err === null) msg.respond(reply);
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
