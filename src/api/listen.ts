/** Starts the HTTP server for an app and stops it cleanly (open wait= requests are released). */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiApp } from "./app.ts";

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function listen(app: ApiApp, port: number, host: string): Promise<RunningServer> {
  const server = createServer(app.koa.callback());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: async () => {
      app.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections?.();
      });
    },
  };
}
