/**
 * Benchmark worker process for BullMQ on a local Redis (REDIS_PORT, QUEUE). The processor does
 * nothing. Prints the same JSON lines as our worker: worker.started, job.started, job.completed
 * (BullMQ's "completed" event, after the job was moved to the completed set).
 */
import process from "node:process";
import { Worker } from "bullmq";

const env = process.env;
const concurrency = Number(env.CONCURRENCY ?? 4);
const print = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), event, component: "bullmq", pid: process.pid, ...fields }) + "\n");

const worker = new Worker(
  env.QUEUE!,
  async (job) => {
    print("job.started", { request_id: job.id });
  },
  { connection: { host: "127.0.0.1", port: Number(env.REDIS_PORT) }, concurrency },
);
worker.on("completed", (job) => print("job.completed", { request_id: job.id }));
worker.on("error", (error) => print("bullmq.error", { level: "error", error: String(error) }));
await worker.waitUntilReady();
print("worker.started", { concurrency });

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void worker.close().finally(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
