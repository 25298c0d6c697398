/** Free TCP ports on the loopback interface, for servers and nodes started on one machine. */
import { createServer, type Server } from "node:net";

/**
 * `count` distinct free TCP ports on 127.0.0.1 (bound together, then released). Another
 * process may take one before it is used: callers retry on "address already in use".
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((ok, fail) => s.once("error", fail).listen(0, "127.0.0.1", ok));
      ports.push((s.address() as { port: number }).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
