/**
 * Benchmark-only worker process: our Worker exactly as workers/node.ts runs it, but with no change
 * stream, so it is woken only by its periodic sweep (SWEEP_MS) and by its own finished jobs. This
 * is how "ours with the sweep alone" is measured without a product switch.
 */
import process from "node:process";
import { openContext } from "../src/context.ts";
import { createLogger } from "../src/log.ts";
import { Worker } from "../src/worker/worker.ts";

const log = createLogger({ component: "worker", runtime: "node", mode: "sweep-only", pid: process.pid });
const context = await openContext({ component: "bench-sweep-only", log, watch: false });
const worker = new Worker(context);
worker.start();

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void worker
    .stop()
    .then(() => context.close())
    .finally(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
