/**
 * A TCP proxy between the service and the test database that can black-hole the link for a
 * while: a network partition on loopback, with no mock in the driver.
 *
 * While cut, bytes in both directions are dropped and new connections are held without an
 * answer, as when packets are lost; the driver has to notice by its own timeouts. (Closing
 * every socket at once instead, as a restarting server does, can leave driver 7's server
 * monitor waiting forever: a heartbeat written to a socket the peer has just closed waits for a
 * 'drain' that never comes. That is a driver bug, noted in the README, not modelled here.)
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

/** One client connection through the proxy, as seen on the wire. */
export interface ProxiedClient {
  /** The first 1 MiB the client sent (enough to see which commands it carried). */
  sent: Buffer;
  /** Bytes the server sent back to it. */
  received: number;
  /** Set when the client's socket closed. */
  closed: boolean;
}

export interface TcpProxy {
  port: number;
  /** Every client connection so far, in the order they arrived. */
  readonly clients: readonly ProxiedClient[];
  /** Drops all traffic and holds new connections until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const held = new Set<net.Socket>();
  const clients: ProxiedClient[] = [];
  let cut = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const wire = (client: net.Socket) => {
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    const seen: ProxiedClient = { sent: Buffer.alloc(0), received: 0, closed: false };
    clients.push(seen);
    client.on("close", () => {
      seen.closed = true;
    });
    client.on("data", (data) => {
      if (seen.sent.length < 1024 * 1024) seen.sent = Buffer.concat([seen.sent, data]);
      if (!cut) upstream.write(data);
    });
    upstream.on("data", (data) => {
      seen.received += data.length;
      if (!cut) client.write(data);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.resume();
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    if (cut) held.add(client);
    else wire(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    clients,
    cut: () => {
      cut = true;
    },
    restore: () => {
      cut = false;
      for (const client of held) if (!client.destroyed) wire(client);
      held.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
