/**
 * Per-request fixed cost: what the service adds around a small report, as a client sees it.
 * Deployed shape: one API process (dist/src/main/api.js) and one worker process
 * (dist/workers/node.js) on the embedded test server; the client here submits
 * `POST /v1/reports {report_name: REPORT}` (bench-one-row: one row) and holds
 * `GET /v1/reports/:id?wait=30` until the request is completed. One request at a time, WARMUP
 * first, then RUNS measured.
 *
 * Measured in the same run, interleaved with ours: the floor (bench/floor.ts: the bare driver doing
 * a job's six steps one after another on the same server), the report's aggregation alone, and
 * where our time went from the request's own timestamps (POST round trip, submitted → claimed,
 * claimed → finished, finished → answer received).
 * `npm run bench:fixed-cost`
 */
import process from "node:process";
import { MongoClient } from "mongodb";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { DIST, freePort, oursEnv, spawnLoggingToFile, summarise } from "./harness.ts";
import { workerCommand } from "../test/support/processes.ts";
import { floorJob, seedFloor, FLOOR_SOURCE } from "./floor.ts";
import { percentile, writeResults } from "./lib.ts";
import os from "node:os";
import { mkdtempSync } from "node:fs";
import path from "node:path";

const RUNS = Number(process.env.RUNS ?? 1000);
// The test server is a JVM: its JIT needs some hundreds of requests before times settle.
const WARMUP = Number(process.env.WARMUP ?? 300);
const REPORT = process.env.REPORT ?? "bench-one-row";
/** The target: p50 at most this many times the floor's p50. */
const TARGET_OVER_FLOOR = 2.5;

interface Status {
  id: string;
  status: string;
  report_date: string;
  started_at?: string;
  finished_at?: string;
}

const server = await startEmbeddedMongo();
const target = { mongoUri: server.uri, dbName: "bench_fixed_cost" };
// The processes log to files, as a deployment's would go to its collector: this process times
// requests and must not also parse their log lines (see spawnLoggingToFile).
const logDir = mkdtempSync(path.join(os.tmpdir(), "bench-fixed-cost-"));
const port = await freePort();
const api = spawnLoggingToFile(
  { args: [path.join(DIST, "src", "main", "api.js")] },
  oursEnv(target, { PORT: String(port), HOST: "127.0.0.1" }),
  "api.listening",
  path.join(logDir, "api.log"),
);
const apiUrl = `http://127.0.0.1:${port}`;
const worker = spawnLoggingToFile(
  workerCommand("node"),
  oursEnv(target, { WORKER_CONCURRENCY: "4" }),
  "worker.started",
  path.join(logDir, "worker.log"),
);
const client = await MongoClient.connect(server.uri, { appName: "bench-direct" });
await seedFloor(client.db(target.dbName));
const loadBefore = os.loadavg().map((x) => Math.round(x * 10) / 10);

async function once(i: number): Promise<{ total: number; submit: number; toClaim: number; run: number; answer: number }> {
  const started = performance.now();
  const response = await fetch(`${apiUrl}/v1/reports`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ report_name: REPORT, i }),
  });
  if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
  const submitted = (await response.json()) as Status;
  const submit = performance.now() - started;
  let status = submitted;
  while (status.status === "pending" || status.status === "running")
    status = (await fetch(`${apiUrl}/v1/reports/${submitted.id}?wait=30`).then((r) => r.json())) as Status;
  const total = performance.now() - started;
  const answeredAt = Date.now();
  if (status.status !== "completed") throw new Error(`request ${submitted.id} ended ${status.status}: ${JSON.stringify(status)}`);
  const [requested, claimed, finished] = [status.report_date, status.started_at!, status.finished_at!].map((t) => Date.parse(t));
  return { total, submit, toClaim: claimed - requested, run: finished - claimed, answer: answeredAt - finished };
}

/** The same request held: one `POST /v1/reports?wait=30`, answered 201 once the request is completed. */
async function held(i: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${apiUrl}/v1/reports?wait=30`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // A parameter of its own, so no request is answered with another's result.
    body: JSON.stringify({ report_name: REPORT, i: -1 - i }),
  });
  const status = (await response.json()) as Status;
  if (response.status !== 201 || status.status !== "completed")
    throw new Error(`held submit answered ${response.status}: ${JSON.stringify(status)}`);
  return performance.now() - started;
}

async function direct(): Promise<number> {
  const started = performance.now();
  await client
    .db(target.dbName)
    .collection(FLOOR_SOURCE)
    .aggregate([{ $limit: 1 }, { $project: { _id: 0, n: 1, label: 1 } }])
    .toArray();
  return performance.now() - started;
}

try {
  await Promise.all([api.ready, worker.ready]);
  const floorDb = client.db(target.dbName);
  for (let i = 0; i < WARMUP; i++) {
    await once(i);
    await held(i);
    await direct();
    await floorJob(floorDb, "floor", i);
  }
  const runs = [];
  const heldRuns: number[] = [];
  const aggregate: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await once(WARMUP + i));
    heldRuns.push(await held(WARMUP + i));
    aggregate.push(await direct());
    floor.push(await floorJob(floorDb, "floor", WARMUP + i));
  }
  const floorSummary = summarise(floor, percentile);
  const total = summarise(
    runs.map((r) => r.total),
    percentile,
  );
  const heldTotal = summarise(heldRuns, percentile);
  const ratio = (ms: number) => Math.round((ms / floorSummary.p50) * 100) / 100;
  const file = writeResults("fixed-cost", {
    method:
      `one API process + one worker process (concurrency 4) on the embedded test server, logging to files (not parsed by the measuring client); the client submits ${REPORT} and waits with GET ?wait=30 until completed (two requests), then submits it held (one POST ?wait=30, answered 201 when completed), one request at a time; ` +
      `${WARMUP} warm-up requests, then ${RUNS} measured, each followed by one floor job (bench/floor.ts: insert, claim, aggregate, store rows, final status, read with the bare driver, sequential) and the aggregation alone; ` +
      `breakdown from the request's report_date, started_at, finished_at (same machine clock)`,
    runs: RUNS,
    report: REPORT,
    load_average_before: loadBefore,
    submit_to_completed_ms: total,
    floor_ms: floorSummary,
    ours_over_floor_p50: ratio(total.p50),
    held_submit_to_completed_ms: heldTotal,
    held_over_floor_p50: ratio(heldTotal.p50),
    breakdown_ms: {
      post_round_trip: summarise(
        runs.map((r) => r.submit),
        percentile,
      ),
      submitted_to_claimed: summarise(
        runs.map((r) => r.toClaim),
        percentile,
      ),
      claimed_to_finished: summarise(
        runs.map((r) => r.run),
        percentile,
      ),
      finished_to_answer_received: summarise(
        runs.map((r) => r.answer),
        percentile,
      ),
    },
    direct_aggregation_ms: summarise(aggregate, percentile),
    targets: {
      [`p50 <= ${TARGET_OVER_FLOOR} x the floor's p50 (POST, then GET ?wait=)`]: {
        ratio: ratio(total.p50),
        met: total.p50 <= TARGET_OVER_FLOOR * floorSummary.p50,
      },
      [`p50 <= ${TARGET_OVER_FLOOR} x the floor's p50 (POST ?wait=)`]: {
        ratio: ratio(heldTotal.p50),
        met: heldTotal.p50 <= TARGET_OVER_FLOOR * floorSummary.p50,
      },
    },
  });
  console.log(JSON.stringify({ event: "bench.done", file, submit_to_completed_ms: total, held_ms: heldTotal, floor_ms: floorSummary }));
} finally {
  await client.close();
  await worker.stop();
  await api.stop();
  await server.stop();
}
process.exit(0);
