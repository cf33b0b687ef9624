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
import { BSON, type Document } from "mongodb";

/**
 * Changes a server reply on its way to the client (the real driver then reads what a real server
 * could have answered): return the new reply, or undefined to pass it unchanged.
 */
export type ReplyRewriter = (reply: Document) => Document | undefined;

const OP_MSG = 2013;

/**
 * Splits the server's byte stream into wire messages and rewrites the body of each OP_MSG reply
 * (flag bits, then one kind-0 section: the driver asks for neither checksums nor compression).
 */
function replyRewriting(rewrite: ReplyRewriter): (data: Buffer) => Buffer {
  let pending = Buffer.alloc(0);
  return (data) => {
    pending = Buffer.concat([pending, data]);
    const out: Buffer[] = [];
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      const length = pending.readInt32LE(0);
      const message = pending.subarray(0, length);
      pending = pending.subarray(length);
      const rewritten =
        message.readInt32LE(12) === OP_MSG && message[20] === 0 ? rewrite(BSON.deserialize(message.subarray(21))) : undefined;
      if (rewritten === undefined) {
        out.push(message);
        continue;
      }
      const body = BSON.serialize(rewritten);
      const head = Buffer.from(message.subarray(0, 21));
      head.writeInt32LE(21 + body.length, 0);
      out.push(head, Buffer.from(body));
    }
    return Buffer.concat(out);
  };
}

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

export async function startTcpProxy(
  targetHost: string,
  targetPort: number,
  options: { rewriteReply?: ReplyRewriter } = {},
): Promise<TcpProxy> {
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
    const relay = options.rewriteReply ? replyRewriting(options.rewriteReply) : (data: Buffer) => data;
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
      if (!cut) client.write(relay(data));
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
