/**
 * A worker process, independent of the runtime: the Node and Deno entry points pass in how to
 * listen for signals and how to exit, and everything else is shared.
 */
import process from "node:process";
import { openContext } from "../context.ts";
import { createLogger } from "../log.ts";
import { serveMetrics, type MetricsServer } from "../metrics/server.ts";
import { startBackground, type Background } from "./background.ts";
import { WORKER_STATUSES } from "../worker/worker.ts";
import { instanceId } from "../background/instance-id.ts";

export interface Runtime {
  name: "node" | "deno";
  onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never | void;
}

export async function runWorkerProcess(runtime: Runtime): Promise<void> {
  const log = createLogger({ component: "worker", runtime: runtime.name, pid: process.pid });
  const workerOwner = instanceId();
  let context;
  try {
    // A process that only runs jobs hears only what a worker acts on, and not its own claims
    // (processes serving clients hear every change).
    context = await openContext({ component: "worker", log, eventFilter: { statuses: WORKER_STATUSES, notClaimedBy: workerOwner } });
  } catch (error) {
    log.error("worker.start_failed", { error });
    runtime.exit(1);
    return;
  }
  let metricsServer: MetricsServer | null = null;
  let stopping = false;
  // Defined before the background starts: a worker with WORKER_MAX_JOBS may be done before the metrics listen.
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    if (reason !== "done") log.info("worker.signal", { signal: reason, active_jobs: background.worker.activeJobs });
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
  const background: Background = startBackground(context, {
    // Exit without the graceful path: it needs the database this process cannot reach. Leases
    // expire and other workers (or this one, restarted) take the jobs.
    onUnreachable: () => runtime.exit(1),
    // WORKER_MAX_JOBS: its jobs have ended (or there were none); stop as on SIGTERM, and exit 0.
    onDone: () => shutdown("done"),
    workerOwner,
  });
  runtime.onSignal("SIGTERM", () => shutdown("SIGTERM"));
  runtime.onSignal("SIGINT", () => shutdown("SIGINT"));
  if (context.config.metricsPort !== undefined) {
    try {
      const server = await serveMetrics(context.metrics, context.config.metricsPort, context.config.host);
      // Stopping already (a Job with nothing to do): the shutdown did not see this listener.
      if (stopping) await server.close();
      else {
        metricsServer = server;
        log.info("worker.metrics_listening", { url: server.url });
      }
    } catch (error) {
      // Metrics are for operators; a port clash must not stop the worker from doing its job.
      log.error("worker.metrics_failed", { error, port: context.config.metricsPort });
    }
  }
}
