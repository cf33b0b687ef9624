/** Starts the HTTP server for an app and stops it cleanly (open wait= requests are released). */
import { createServer, type Server } from "node:http";
import { bindHttpServer } from "../http-server.ts";
import type { ApiApp } from "./app.ts";

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function listen(app: ApiApp, port: number, host: string): Promise<RunningServer> {
  const server = createServer(app.koa.callback());
  const url = await bindHttpServer(server, port, host);
  return {
    server,
    url,
    close: async () => {
      app.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections?.();
      });
    },
  };
}
