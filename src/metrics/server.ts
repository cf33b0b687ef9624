/**
 * The worker's own small HTTP listener for Prometheus (`METRICS_PORT`): GET /metrics and nothing
 * else. Workers have no API; this is the only port they open.
 */
import { createServer, type Server } from "node:http";
import { bindHttpServer } from "../http-server.ts";
import type { Metrics } from "./metrics.ts";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function serveMetrics(metrics: Metrics, port: number, host: string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics here\n");
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
      (error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${error.message}\n`),
    );
  });
  const base = await bindHttpServer(server, port, host);
  return {
    url: `${base}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
