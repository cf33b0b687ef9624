/**
 * Worker start: how long a new worker process takes from `spawn` to its first claim of a request
 * that was already waiting (what a deployment scaling out, or a supervisor restarting a crashed
 * worker, waits for). Per run: a fresh database on one embedded test server, one pending no-op
 * request inserted, then one worker process started; measured from just before `spawn` to
 *   - worker.started (its log line: context open, change stream open, loop started),
 *   - the claim (the request's `started_at`, which the claim sets),
 *   - job.started (its log line, the handler starting).
 * Also measured, as the floor nobody can beat: `node -e ""` from spawn to exit.
 * `npm run bench:worker-start` (RUNS=10).
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { startWorker, summarise } from "./harness.ts";
import { percentile, writeResults } from "./lib.ts";

const RUNS = Number(process.env.RUNS ?? 10);
const TARGET_P50_MS = 1500;

const server = await startEmbeddedMongo();
const toReady: number[] = [];
const toClaim: number[] = [];
const toStarted: number[] = [];
const nodeFloor: number[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const dbName = `worker_start_${run}`;
    // The database as a running deployment has it: indexes made, one request waiting.
    const database = await connect(server.uri, dbName, "bench-producer");
    await ensureIndexes(database);
    const request = await new RequestStore(database.requests, await requestSealOf(database.db)).submit({
      report_name: "bench-noop",
      params: { i: run },
      output: "json",
    });
    const id = String(request._id);
    const spawnedAt = Date.now();
    const worker = startWorker("ours", { mongoUri: server.uri, dbName, concurrency: 1 }, () => {});
    try {
      const ready = await worker.waitFor((line) => line.event === "worker.started", 60_000);
      const started = await worker.waitFor((line) => line.event === "job.started" && line.request_id === id, 60_000);
      const claimed = await database.requests.findOne({ _id: request._id }, { projection: { started_at: 1 } });
      if (!(claimed?.started_at instanceof Date)) throw new Error(`run ${run}: request ${id} has no started_at after job.started`);
      toReady.push(Date.parse(String(ready.time)) - spawnedAt);
      toClaim.push(claimed.started_at.getTime() - spawnedAt);
      toStarted.push(Date.parse(String(started.time)) - spawnedAt);
      console.log(
        JSON.stringify({
          event: "bench.worker_start.run",
          run,
          ready_ms: toReady.at(-1),
          claim_ms: toClaim.at(-1),
          started_ms: toStarted.at(-1),
        }),
      );
    } finally {
      await worker.stop();
      await database.close();
    }
    const floorStarted = performance.now();
    spawnSync(process.execPath, ["-e", ""]);
    nodeFloor.push(performance.now() - floorStarted);
  }
} finally {
  await server.stop();
}

const claim = summarise(toClaim, percentile);
const file = writeResults("worker-start", {
  method:
    `${RUNS} runs, each on a fresh database of one embedded test server with one pending no-op request (indexes already made); ` +
    "times from just before spawn(node dist/workers/node.js) to the worker's worker.started line, to the claim (the request's started_at) and to its job.started line; node_floor = spawnSync(node -e '') start to exit",
  runs: RUNS,
  spawn_to_worker_started_ms: summarise(toReady, percentile),
  spawn_to_first_claim_ms: claim,
  spawn_to_job_started_ms: summarise(toStarted, percentile),
  node_floor_ms: summarise(nodeFloor, percentile),
  targets: { [`first claim p50 <= ${TARGET_P50_MS} ms`]: { value_ms: claim.p50, met: claim.p50 <= TARGET_P50_MS } },
});
console.log(JSON.stringify({ event: "bench.done", file, spawn_to_first_claim_ms: claim }));
process.exit(0);
