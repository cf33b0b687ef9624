/**
 * Benchmark worker process for Agenda 6 (MongoDB backend): AGENDA_MODE=changestream uses
 * MongoChangeStreamNotificationChannel, AGENDA_MODE=polling Agenda's default polling
 * (processEvery, 5 s unless PROCESS_EVERY_MS says otherwise). One job type, "bench-noop", whose
 * handler does nothing. Prints the same JSON lines as our worker: worker.started, job.started
 * (with claimed_at, the job's lockedAt), job.completed (after Agenda has saved the finished job).
 */
import process from "node:process";
import { MongoClient } from "mongodb";
import { Agenda } from "agenda";
import { MongoBackend, MongoChangeStreamNotificationChannel } from "@agendajs/mongo-backend";

const env = process.env;
const mode = env.AGENDA_MODE === "polling" ? "polling" : "changestream";
const concurrency = Number(env.CONCURRENCY ?? 4);
const print = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(
    JSON.stringify({ time: new Date().toISOString(), event, component: "agenda", mode, pid: process.pid, ...fields }) + "\n",
  );

const client = await MongoClient.connect(env.MONGODB_URI!, { appName: "bench-agenda-worker" });
const db = client.db(env.MONGODB_DB);
const agenda = new Agenda({
  backend: new MongoBackend({ mongo: db }),
  ...(mode === "changestream" ? { notificationChannel: new MongoChangeStreamNotificationChannel({ db }) } : {}),
  ...(env.PROCESS_EVERY_MS ? { processEvery: Number(env.PROCESS_EVERY_MS) } : {}),
  maxConcurrency: concurrency,
  defaultConcurrency: concurrency,
});
agenda.on("error", (error: unknown) => print("agenda.error", { level: "error", error: String(error) }));
agenda.define(
  "bench-noop",
  async (job) => {
    // claimed_at: the lock time Agenda wrote with its findOneAndUpdate (taken just before it).
    const lockedAt = job.attrs.lockedAt ? new Date(job.attrs.lockedAt).toISOString() : undefined;
    print("job.started", { request_id: String(job.attrs._id), claimed_at: lockedAt });
  },
  { concurrency },
);
agenda.on("complete:bench-noop", (job) => print("job.completed", { request_id: String(job.attrs._id) }));
await agenda.start();
print("worker.started", { concurrency });

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void agenda
    .stop(false)
    .then(() => client.close())
    .finally(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
