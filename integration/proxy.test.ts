/**
 * The kit's TCP proxy between a client and a plain TCP server: `freeze` makes a link silent
 * (nothing forwarded either way, nothing closed or reset, new connections held), `thaw` delivers
 * what was buffered; `cut` destroys and refuses.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startProxy, type TcpProxy, waitFor } from "./kit/index.js";

/** A connection as one end sees it: the bytes it received, and whether it closed. */
interface End {
  socket: Socket;
  received: Buffer[];
  bytes: number;
  closed: boolean;
}

const watch = (socket: Socket): End => {
  const end: End = { socket, received: [], bytes: 0, closed: false };
  socket.on("data", (d: Buffer) => {
    end.received.push(d);
    end.bytes += d.length;
  });
  socket.on("error", () => undefined);
  socket.once("close", () => (end.closed = true));
  return end;
};

const text = (e: End) => Buffer.concat(e.received).toString();

/** Polls `happened` for `ms`: true if it never did (the bounded watch for something that must not happen). */
async function nothingFor(ms: number, happened: () => boolean): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (happened()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !happened();
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP server that records every connection it accepts; and a proxy to it. */
async function setup(): Promise<{ proxy: TcpProxy; accepted: End[]; dial(): Promise<End> }> {
  const accepted: End[] = [];
  const target: Server = createServer((s) => accepted.push(watch(s)));
  await new Promise<void>((ok) => target.listen(0, "127.0.0.1", ok));
  const proxy = await startProxy((target.address() as { port: number }).port);
  const clients: Socket[] = [];
  cleanups.push(async () => {
    for (const c of clients) c.destroy();
    await proxy.stop();
    for (const a of accepted) a.socket.destroy();
    await new Promise<void>((r) => target.close(() => r()));
  });
  const dial = async (): Promise<End> => {
    const socket = tcpConnect(proxy.port, "127.0.0.1");
    clients.push(socket);
    const end = watch(socket);
    await new Promise<void>((ok, fail) => socket.once("connect", ok).once("error", fail));
    return end;
  };
  return { proxy, accepted, dial };
}

describe("TCP proxy", () => {
  it("freeze: nothing is forwarded either way and nothing is closed, a new connection is held; thaw delivers every buffered byte", async () => {
    const { proxy, accepted, dial } = await setup();
    const a = await dial();
    a.socket.write("hello");
    await waitFor(() => accepted.length === 1 && accepted[0]!.bytes === 5, { message: "the first bytes did not arrive" });
    const server = accepted[0]!;
    server.socket.write("hi");
    await waitFor(() => text(a) === "hi", { message: "the reply did not arrive" });

    proxy.freeze();
    expect(proxy.isFrozen).toBe(true);
    // More than the kernel's socket buffers hold on this link, so the client's write stalls (backpressure).
    const big = Buffer.alloc(64 * 1024 * 1024, 7);
    a.socket.write(big);
    server.socket.write("down");
    const b = await dial(); // TCP accepts it; the proxy holds it
    b.socket.write("second");
    expect(await nothingFor(500, () => server.bytes > 5 || a.bytes > 2 || accepted.length > 1)).toBe(true);
    expect(a.socket.writableLength).toBeGreaterThan(0);
    expect({ a: a.closed, server: server.closed, b: b.closed }).toEqual({ a: false, server: false, b: false });

    proxy.thaw();
    expect(proxy.isFrozen).toBe(false);
    await waitFor(() => server.bytes === 5 + big.length, { timeout: 20_000, message: "the buffered bytes did not all arrive after the thaw" });
    await waitFor(() => text(a) === "hidown", { message: "the server's buffered write did not arrive after the thaw" });
    await waitFor(() => accepted.length === 2 && text(accepted[1]!) === "second", { message: "the held connection was not forwarded after the thaw" });
    expect(Buffer.concat(server.received).subarray(5).equals(big)).toBe(true);
    // Still one live link each: the same sockets go on working.
    a.socket.write("again");
    await waitFor(() => server.bytes === 5 + big.length + 5, { message: "the link did not work after the thaw" });
    expect({ a: a.closed, server: server.closed, b: b.closed }).toEqual({ a: false, server: false, b: false });
  }, 30_000);

  it("cut: live connections are destroyed and new ones refused until heal", async () => {
    const { proxy, accepted, dial } = await setup();
    const a = await dial();
    a.socket.write("x");
    await waitFor(() => accepted[0]?.bytes === 1, { message: "the bytes did not arrive" });
    proxy.cut();
    await waitFor(() => a.closed && accepted[0]!.closed, { message: "the cut did not close both ends" });
    const refused = await dial();
    await waitFor(() => refused.closed, { message: "a connection during the cut was not closed" });
    proxy.heal();
    const c = await dial();
    c.socket.write("y");
    await waitFor(() => accepted.length === 2 && accepted[1]!.bytes === 1, { message: "no forwarding after heal" });
  });
});
