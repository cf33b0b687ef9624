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
  const handle = app.koa.callback();
  // Koa answers its own errors (ctx.onerror), so the promise it returns never rejects.
  const server = createServer((request, response) => void handle(request, response));
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
