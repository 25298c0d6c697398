import { ShoalClient } from "shoal";
import { counter } from "./actors.js";

// Calls the cluster from outside it, as your application would: no membership, just NATS.
const client = await ShoalClient.connect({
  servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  cluster: process.env.SHOAL_CLUSTER ?? "shoal",
});
try {
  const id = process.argv[2] ?? "my-counter";
  const c = client.ref(counter, id);
  const value = await c.ask({ increment: 1 }); // number
  await c.send({ increment: 1 }); // resolves once applied
  const now = await c.ask({ get: {} }); // { value, version, node }
  console.log(JSON.stringify({ id, afterIncrement: value, ...now }));
} finally {
  await client.close();
}
