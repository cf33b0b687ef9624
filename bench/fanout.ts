/**
 * Change-stream fan-out: change events each worker process receives per completed job, and what
 * opening the stream costs.
 *
 * WORKERS worker processes (default 4, WORKER_CONCURRENCY 2) run REQUESTS requests (default 100)
 * of a report that runs long enough to renew its lease and write progress several times
 * (every-movie from the test fixtures: 1,000 rows in chunks of 20; LEASE_MS 1500 so the heartbeat
 * runs every 500 ms; PROGRESS_INTERVAL_MS 200). Requests are submitted in batches of WORKERS so
 * that idle workers wait for new ones (each new request meets idle workers, as in production).
 *
 * - after: each worker logs `events_delivered` (RequestEvents.delivered) when it stops; divided by
 *   the completed jobs, per process.
 * - before (the stream of commit 3eb6d5e): every process watched every insert, update and replace
 *   with `fullDocument: "updateLookup"`, so every process received the same events. An observer
 *   stream opened here with that pipeline counts them: that count is each process's figure. (On
 *   the stock test server findOneAndUpdate emitted nothing and updates had no shape; this server
 *   emits what MongoDB emits, so the old pipeline is counted as it would run on MongoDB.)
 *   An observer with the new pipeline cross-checks the workers' own counts.
 * - the herd: claim queries that pending events led to, per job, and how many found nothing
 *   (each worker's ClaimPacer counts, logged at stop).
 * - start: RequestEvents.start() (first resume token) against the old wait for the cursor's
 *   `init`, which the driver never forwards from a ChangeStream (so it always waited its 5 s timer).
 *
 * `npm run bench:fanout` (WORKERS, REQUESTS to change the size)
 */
import process from "node:process";
import path from "node:path";
import { MongoClient, type ChangeStream } from "mongodb";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import { silentLogger } from "../src/log.ts";
import { PIPELINE, RequestEvents } from "../src/requests/events.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";
import { DIST, startWorker, until, type WorkerLine } from "./harness.ts";
import { median, writeResults } from "./lib.ts";

const WORKERS = Number(process.env.WORKERS ?? 4);
const REQUESTS = Number(process.env.REQUESTS ?? 100);
const CONCURRENCY = 2;
const FIXTURE_REPORTS = path.join(DIST, "test", "fixtures", "progress-reports");
const OLD_PIPELINE = [{ $match: { operationType: { $in: ["insert", "update", "replace"] } } }];
const OLD_INIT_TIMEOUT_MS = 5000;

async function countEvents(stream: ChangeStream): Promise<{ count: () => number }> {
  let count = 0;
  const ready = new Promise<void>((resolve) => stream.once("resumeTokenChanged", () => resolve()));
  stream.on("change", () => (count += 1));
  await ready;
  return { count: () => count };
}

/** How long each way of opening takes: RequestEvents.start() now, and the old wait for `init` (5 s timer). */
async function measureStart(requests: ConstructorParameters<typeof RequestEvents>[0]) {
  const now: number[] = [];
  for (let i = 0; i < 5; i++) {
    const events = new RequestEvents(requests, silentLogger);
    const t0 = performance.now();
    await events.start();
    now.push(performance.now() - t0);
    await events.close();
  }
  const before: number[] = [];
  for (let i = 0; i < 2; i++) {
    const stream = requests.watch(OLD_PIPELINE, { fullDocument: "updateLookup" });
    stream.on("change", () => {});
    const t0 = performance.now();
    let initSeen = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, OLD_INIT_TIMEOUT_MS);
      stream.once("init", () => {
        initSeen = true;
        clearTimeout(timer);
        resolve();
      });
    });
    before.push(performance.now() - t0);
    if (initSeen) throw new Error("the driver forwarded init: the old code did not wait its timer");
    await stream.close();
  }
  return { after_ms_p50: Math.round(median(now) * 10) / 10, before_ms_p50: Math.round(median(before)) };
}

async function main(): Promise<void> {
  const mongo = await startEmbeddedMongo();
  const dbName = "bench_fanout";
  const database = await connect(mongo.uri, dbName);
  await ensureIndexes(database);
  const store = new RequestStore(database.requests, await requestSealOf(database.db));
  await database.db.collection("movies").insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i as never, title: `movie ${i}` })));
  const observer = await MongoClient.connect(mongo.uri);
  const requests = observer.db(dbName).collection("report_requests");
  const oldStream = requests.watch(OLD_PIPELINE, { fullDocument: "updateLookup" });
  const newStream = requests.watch(PIPELINE);
  const [oldCount, newCount] = await Promise.all([countEvents(oldStream), countEvents(newStream)]);

  const stopped = new Map<number, WorkerLine>();
  const completed = new Map<number, number>();
  let completedTotal = 0;
  const workers = Array.from({ length: WORKERS }, (_, index) =>
    startWorker(
      "ours",
      {
        mongoUri: mongo.uri,
        dbName,
        concurrency: CONCURRENCY,
        pollMs: 5000,
        env: { REPORTS_DIRS: FIXTURE_REPORTS, ROWS_PER_CHUNK: "20", LEASE_MS: "1500", PROGRESS_INTERVAL_MS: "200" },
      },
      (line) => {
        if (line.event === "job.completed") {
          completed.set(index, (completed.get(index) ?? 0) + 1);
          completedTotal += 1;
        }
        if (line.event === "worker.stopped") stopped.set(index, line);
      },
    ),
  );
  await Promise.all(workers.map((worker) => worker.ready));
  const startedAt = performance.now();
  for (let submitted = 0; submitted < REQUESTS;) {
    const batch = Math.min(WORKERS, REQUESTS - submitted);
    for (let i = 0; i < batch; i++) await store.submit({ report_name: "every-movie", params: {}, output: "json" });
    submitted += batch;
    await until(() => completedTotal >= submitted, 120_000, `${submitted} jobs completed`);
  }
  const runMs = performance.now() - startedAt;
  await Promise.all(workers.map((worker) => worker.stop("SIGTERM", 30_000)));
  await until(() => stopped.size === WORKERS, 10_000, "every worker logged worker.stopped");

  const perProcess = workers.map((_, index) => {
    const line = stopped.get(index);
    return {
      delivered: Number(line?.events_delivered),
      eventClaims: Number(line?.event_claims ?? 0),
      emptyEventClaims: Number(line?.event_claims_empty ?? 0),
      completed: completed.get(index) ?? 0,
    };
  });
  const jobs = perProcess.reduce((sum, p) => sum + p.completed, 0);
  const status = await database.requests.aggregate([{ $group: { _id: "$status", n: { $sum: 1 } } }]).toArray();
  const attempts = await database.requests.aggregate([{ $group: { _id: null, total: { $sum: "$attempts" } } }]).toArray();
  const start = await measureStart(database.requests);
  const round = (x: number) => Math.round(x * 100) / 100;
  const results = {
    setup: {
      workers: WORKERS,
      worker_concurrency: CONCURRENCY,
      requests: REQUESTS,
      report: "every-movie (1,000 rows, ROWS_PER_CHUNK 20), LEASE_MS 1500 (heartbeat 500 ms), PROGRESS_INTERVAL_MS 200",
      submission: `batches of ${WORKERS}, each after the previous batch completed`,
    },
    run_s: round(runMs / 1000),
    jobs_completed: jobs,
    final_statuses: Object.fromEntries(status.map((s) => [s._id, s.n])),
    claims_per_job: round(Number(attempts[0]?.total ?? 0) / REQUESTS),
    events_per_completed_job_per_process: {
      before: round(oldCount.count() / jobs),
      after: round(median(perProcess.map((p) => p.delivered)) / jobs),
      after_each_process: perProcess.map((p) => round(p.delivered / jobs)),
      after_observer: round(newCount.count() / jobs),
      note:
        "before = every insert/update/replace with updateLookup (commit 3eb6d5e), the same for every process; " +
        "after = what each worker's RequestEvents delivered (server-side $match on status, $project), from its worker.stopped log",
    },
    claim_queries_woken_by_events: {
      per_completed_job: round(perProcess.reduce((sum, p) => sum + p.eventClaims, 0) / jobs),
      empty_per_completed_job: round(perProcess.reduce((sum, p) => sum + p.emptyEventClaims, 0) / jobs),
      note:
        "claims a pending event led to (ClaimPacer), all processes together; empty = another worker was faster. " +
        "Without pacing every idle process claims on every pending event.",
    },
    stream_start_ms: {
      before: start.before_ms_p50,
      after: start.after_ms_p50,
      note: "before = the old open() waiting for `init`, which a ChangeStream never emits (its 5 s timer); after = RequestEvents.start() until the first resume token",
    },
  };
  const file = writeResults("fanout", results);
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${file}`);
  await oldStream.close();
  await newStream.close();
  await observer.close();
  await database.close();
  await mongo.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
