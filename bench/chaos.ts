/**
 * Chaos run: 4 worker processes, 500 requests of mixed reports; every ~2 s a random worker is
 * killed with SIGKILL and a new one started. Checks that every request ends `completed` exactly
 * once and that its rows equal those of a clean run (the same pipeline run directly).
 * `npm run build:dev && node dist/bench/chaos.js` (REQUESTS, WORKERS, KILL_EVERY_MS to change).
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import process from "node:process";
import type { Document, ObjectId } from "mongodb";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import { createRegistry } from "../src/reports/code-modules.ts";
import { validateParams } from "../src/reports/validation.ts";
import { resultRowsPage } from "../src/requests/result-rows.ts";
import { rowShaper } from "../src/results/row-shape.ts";
import { loadConfig } from "../src/config.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";
import { writeResults } from "./lib.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { loadCollection } from "../scripts/lib/load-collection.ts";
import { MFLIX_DIR } from "../scripts/lib/paths.ts";
import { spawnLogged, workerCommand } from "../test/support/processes.ts";

const REQUESTS = Number(process.env.REQUESTS ?? 500);
const WORKERS = Number(process.env.WORKERS ?? 4);
const KILL_EVERY_MS = Number(process.env.KILL_EVERY_MS ?? 2000);
const MFLIX = MFLIX_DIR;

const server = await startEmbeddedMongo();
const dbName = "chaos";
const database = await connect(server.uri, dbName);
await ensureIndexes(database);
await loadCollection(database.db, "movies", path.join(MFLIX, "movies.json.gz"));
const store = new RequestStore(database.requests, await requestSealOf(database.db));
const registry = await createRegistry();

const completions = new Map<string, number>();
let killed = 0;
let started = 0;
const workers = new Set<ChildProcess>();

function startWorker(): void {
  started += 1;
  const worker = spawnLogged({
    ...workerCommand("node"),
    env: {
      MONGODB_URI: server.uri,
      MONGODB_DB: dbName,
      LEASE_MS: "2000",
      SWEEP_MS: "500",
      RETRY_BASE_MS: "100",
      MAX_ATTEMPTS: "20",
      ROWS_PER_CHUNK: "50",
    },
    keepLogs: false,
    onLine: (entry) => {
      if (entry.event === "job.completed" && typeof entry.request_id === "string")
        completions.set(entry.request_id, (completions.get(entry.request_id) ?? 0) + 1);
    },
  });
  workers.add(worker.child);
  worker.child.once("exit", () => workers.delete(worker.child));
}

/** A mix of the three seed reports with varied filters, some slow enough to be killed mid-run. */
function requestFor(i: number): { report_name: string; params: Record<string, unknown> } {
  switch (i % 4) {
    case 0:
      return { report_name: "top-movies-per-rating", params: { top: 1 + (i % 50), rating: { $gt: 5 + (i % 30) / 10 } } };
    case 1:
      return { report_name: "top-movies-per-rating", params: { released: { $gte: String(1910 + (i % 40)) }, min_votes: i % 1000 } };
    case 2:
      return { report_name: "top-directors-per-movie-rating", params: { movies: { $gte: 1 + (i % 3) } } };
    default:
      return { report_name: "top-directors-per-movie-rating", params: { rating: { $lt: 9 - (i % 20) / 10 }, top: 5 + (i % 20) } };
  }
}

for (let i = 0; i < WORKERS; i++) startWorker();
const t0 = Date.now();
const ids: ObjectId[] = [];
for (let i = 0; i < REQUESTS; i++) {
  const { report_name, params } = requestFor(i);
  const report = registry.require(report_name);
  ids.push((await store.submit({ report_name, params: validateParams(params, report.params), output: "json" }))._id);
}
const chaos = setInterval(() => {
  const victims = [...workers];
  const victim = victims[Math.floor(Math.random() * victims.length)];
  if (!victim) return;
  victim.kill("SIGKILL");
  killed += 1;
  startWorker();
}, KILL_EVERY_MS);

for (;;) {
  const open = await database.requests.countDocuments({ _id: { $in: ids }, status: { $in: ["pending", "running"] } });
  if (open === 0) break;
  if (Date.now() - t0 > 20 * 60_000) throw new Error(`${open} requests still open after 20 minutes`);
  await new Promise((resolve) => setTimeout(resolve, 500));
}
const durationMs = Date.now() - t0;
clearInterval(chaos);
for (const worker of workers) worker.kill("SIGTERM");

// Verify: status, exactly-once completion, and rows equal to a clean run of the same pipeline.
let mismatched = 0;
// HIDDEN_FIELDS as the workers read it (they inherit this environment).
const hidden = loadConfig().hiddenFields;
let notCompleted = 0;
let retried = 0;
let totalAttempts = 0;
for (const id of ids) {
  const doc = (await database.requests.findOne({ _id: id }))!;
  totalAttempts += doc.attempts;
  if (doc.attempts > 1) retried += 1;
  if (doc.status !== "completed" || !doc.result) {
    notCompleted += 1;
    continue;
  }
  const report = registry.require(doc.report_name);
  // Shaped as the worker shapes every row: hidden fields out, declared precision applied.
  const clean: Document[] = (
    await database.db
      .collection(report.collection)
      .aggregate(report.pipeline(validateParams(doc.params, report.params)))
      .toArray()
  ).map(rowShaper(report.columns, hidden));
  const rows = await resultRowsPage(database.results, doc, 0, Math.max(1, doc.result.row_count));
  if (JSON.stringify(rows) !== JSON.stringify(clean) || doc.result.row_count !== clean.length) mismatched += 1;
}
const completedTwice = [...completions.values()].filter((n) => n > 1).length;
const summary = {
  requests: REQUESTS,
  workers: WORKERS,
  kill_every_ms: KILL_EVERY_MS,
  workers_killed: killed,
  workers_started: started,
  duration_ms: durationMs,
  not_completed: notCompleted,
  completed_more_than_once: completedTwice,
  completion_events: [...completions.values()].reduce((a, b) => a + b, 0),
  rows_differing_from_clean_run: mismatched,
  requests_retried: retried,
  total_attempts: totalAttempts,
  ok: notCompleted === 0 && completedTwice === 0 && mismatched === 0,
};
const file = writeResults("chaos", summary);
console.log(JSON.stringify({ event: "chaos.done", file, ...summary }));
await database.close();
await server.stop();
process.exit(summary.ok ? 0 : 1);
