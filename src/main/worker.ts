/**
 * A worker process, independent of the runtime: the Node and Deno entry points pass in how to
 * listen for signals and how to exit, and everything else is shared.
 */
import process from "node:process";
import { openContext } from "../context.ts";
import { createLogger } from "../log.ts";
import { serveMetrics, type MetricsServer } from "../metrics/server.ts";
import { startBackground } from "./background.ts";

export interface Runtime {
  name: "node" | "deno";
  onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never | void;
}

export async function runWorkerProcess(runtime: Runtime): Promise<void> {
  const log = createLogger({ component: "worker", runtime: runtime.name, pid: process.pid });
  let context;
  try {
    context = await openContext({ component: "worker", log });
  } catch (error) {
    log.error("worker.start_failed", { error });
    runtime.exit(1);
    return;
  }
  const background = startBackground(context, {
    // Exit without the graceful path: it needs the database this process cannot reach. Leases
    // expire and other workers (or this one, restarted) take the jobs.
    onUnreachable: () => runtime.exit(1),
  });
  let metricsServer: MetricsServer | null = null;
  if (context.config.metricsPort !== undefined) {
    try {
      metricsServer = await serveMetrics(context.metrics, context.config.metricsPort, context.config.host);
      log.info("worker.metrics_listening", { url: metricsServer.url });
    } catch (error) {
      // Metrics are for operators; a port clash must not stop the worker from doing its job.
      log.error("worker.metrics_failed", { error, port: context.config.metricsPort });
    }
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("worker.signal", { signal, active_jobs: background.worker.activeJobs });
    void background
      .stop()
      .then(() => metricsServer?.close())
      .then(() => context.close())
      .then(
        () => runtime.exit(0),
        (error) => {
          log.error("worker.shutdown_failed", { error });
          runtime.exit(1);
        },
      );
  };
  runtime.onSignal("SIGTERM", () => shutdown("SIGTERM"));
  runtime.onSignal("SIGINT", () => shutdown("SIGINT"));
}
