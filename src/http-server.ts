/** Binding a Node HTTP server: the one place that waits for `listen` and spells the address as a URL. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on `port` (0: any free one) and `host`; resolves with the base URL (`http://host:port`). */
export async function bindHttpServer(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${shownHost}:${address.port}`;
}
