/**
 * c) Report overhead: a registered report end to end (HTTP submit → change stream → claim →
 * aggregation → rows stored in chunks → completed, answered to a `wait=` poll) against the same
 * aggregation run directly with the driver, in the same process and on the same server:
 *   - direct = aggregate(...).toArray() + insertMany of the same rows in chunks of ROWS_PER_CHUNK
 *     (the work the report must do: compute and store its rows; the primary baseline),
 *   - direct aggregate only (toArray), shown as a second ratio.
 * Data: the real sample_mflix movies and comments (test/fixtures/sample_mflix). Reports, from heavy to light:
 * most-commented-movies (group ~41k comments, join movies by _id), top-movies-per-rating (sort
 * every rated movie, default top) and genres-by-rating (unwind + group, 23 rows). The end-to-end
 * cost has a fixed part (HTTP, wake-up, claim, completion write, completion event), so the ratio
 * depends on how long the aggregation itself takes: the three reports show that dependence.
 * End to end and direct are interleaved pair by pair, order alternating; ratio =
 * median(end to end) / median(direct).
 * `npm run bench:overhead`
 */
import path from "node:path";
import process from "node:process";
import { ObjectId, type Document } from "mongodb";
import { loadConfig } from "../src/config.ts";
import { openContext } from "../src/context.ts";
import { silentLogger } from "../src/log.ts";
import { startService } from "../src/main/service.ts";
import { validateParams } from "../src/reports/validation.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { loadCollection } from "../scripts/lib/load-collection.ts";
import { MFLIX_DIR } from "../scripts/lib/paths.ts";
import { median, writeResults } from "./lib.ts";

const RUNS = Number(process.env.RUNS ?? 15);
// The test server is a JVM: its JIT needs a few runs before times settle.
const WARMUP = Number(process.env.WARMUP ?? 5);
const MFLIX = MFLIX_DIR;
const REPORTS = [
  { report_name: "most-commented-movies", params: {} as Record<string, unknown> },
  { report_name: "top-movies-per-rating", params: {} as Record<string, unknown> },
  { report_name: "genres-by-rating", params: {} as Record<string, unknown> },
];

const embedded = await startEmbeddedMongo();
const config = loadConfig({
  ...process.env,
  MONGODB_URI: embedded.uri,
  MONGODB_DB: "bench_overhead",
  REUSE_WINDOW_S: "0",
  CATALOGUE_RELOAD_MS: "0",
});
const context = await openContext({ component: "bench", config, log: silentLogger });
const movies = await loadCollection(context.database.db, "movies", path.join(MFLIX, "movies.json.gz"));
const comments = await loadCollection(context.database.db, "comments", path.join(MFLIX, "comments.json.gz"));
const service = await startService(context, { port: 0, host: "127.0.0.1" });
const scratch = context.database.db.collection("bench_direct_chunks");

async function endToEnd(
  report_name: string,
  params: Record<string, unknown>,
): Promise<{ ms: number; rows: number; pickup_ms: number; run_ms: number; submit_ms: number; answer_ms: number }> {
  const started = performance.now();
  const submitted = (await fetch(`${service.url}/v1/reports`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ report_name, ...params }),
  }).then((r) => r.json())) as { id: string };
  const submitMs = performance.now() - started;
  let done: { status: string; total_rows?: number } & Record<string, unknown>;
  do {
    done = (await fetch(`${service.url}/v1/reports/${submitted.id}?wait=30`).then((r) => r.json())) as typeof done;
  } while (done.status === "pending" || done.status === "running");
  const ms = performance.now() - started;
  const answeredAt = Date.now();
  if (done.status !== "completed") throw new Error(`${report_name} ended ${done.status}: ${JSON.stringify(done)}`);
  // Where the time went, from the request document's own timestamps (same clock).
  const doc = (await context.store.get(new ObjectId(submitted.id)))!;
  return {
    ms,
    rows: done.total_rows ?? -1,
    pickup_ms: doc.started_at!.getTime() - doc.report_date.getTime(),
    run_ms: doc.finished_at!.getTime() - doc.started_at!.getTime(),
    submit_ms: submitMs,
    answer_ms: answeredAt - doc.finished_at!.getTime(),
  };
}

async function direct(report_name: string, params: Record<string, unknown>): Promise<{ aggregate_ms: number; ms: number; rows: number }> {
  const report = context.catalogue.require(report_name);
  const started = performance.now();
  const pipeline = report.pipeline(validateParams(params, report.params));
  const rows: Document[] = await context.database.db.collection(report.collection).aggregate(pipeline, { allowDiskUse: true }).toArray();
  const aggregated = performance.now();
  const chunks = [];
  for (let i = 0; i < rows.length; i += config.rowsPerChunk)
    chunks.push({ request_id: "direct", attempt: 1, chunk_no: chunks.length, rows: rows.slice(i, i + config.rowsPerChunk) });
  if (chunks.length > 0) await scratch.insertMany(chunks);
  const ms = performance.now() - started;
  await scratch.deleteMany({});
  return { aggregate_ms: aggregated - started, ms, rows: rows.length };
}

const results: Record<string, unknown> = {};
for (const { report_name, params } of REPORTS) {
  for (let i = 0; i < WARMUP; i++) {
    await endToEnd(report_name, params);
    await direct(report_name, params);
  }
  const e2e: number[] = [];
  const pickup: number[] = [];
  const run: number[] = [];
  const submit: number[] = [];
  const answer: number[] = [];
  const driver: number[] = [];
  const aggregateOnly: number[] = [];
  let rows = 0;
  let directRows = 0;
  for (let i = 0; i < RUNS; i++) {
    const pair = i % 2 === 0 ? ["e2e", "direct"] : ["direct", "e2e"];
    for (const which of pair) {
      if (which === "e2e") {
        const r = await endToEnd(report_name, params);
        e2e.push(r.ms);
        pickup.push(r.pickup_ms);
        run.push(r.run_ms);
        submit.push(r.submit_ms);
        answer.push(r.answer_ms);
        rows = r.rows;
      } else {
        const r = await direct(report_name, params);
        driver.push(r.ms);
        aggregateOnly.push(r.aggregate_ms);
        directRows = r.rows;
      }
    }
  }
  if (rows !== directRows) throw new Error(`${report_name}: report gave ${rows} rows, direct aggregation ${directRows}`);
  const round = (x: number) => Math.round(x * 10) / 10;
  const ratio = median(e2e) / median(driver);
  results[report_name] = {
    params,
    rows,
    end_to_end_ms: { median: round(median(e2e)), runs: e2e.map(round) },
    end_to_end_breakdown_ms: {
      median_post_round_trip: round(median(submit)),
      median_insert_to_claim: round(median(pickup)),
      median_claim_to_finished: round(median(run)),
      median_finished_to_answer_received: round(median(answer)),
    },
    direct_aggregate_and_insert_ms: { median: round(median(driver)), runs: driver.map(round) },
    direct_aggregate_only_ms: { median: round(median(aggregateOnly)), runs: aggregateOnly.map(round) },
    fixed_overhead_ms: round(median(e2e) - median(driver)),
    // Each pair ran back to back, so its ratio cancels slow drifts in the machine's load.
    median_of_paired_ratios: Math.round(median(e2e.map((t, k) => t / driver[k])) * 1000) / 1000,
    ratio_vs_aggregate_and_insert: Math.round(ratio * 1000) / 1000,
    ratio_vs_aggregate_only: Math.round((median(e2e) / median(aggregateOnly)) * 1000) / 1000,
    target_ratio_le_1_15_met: ratio <= 1.15,
  };
  console.log(JSON.stringify({ event: "bench.overhead.report", report_name, ...(results[report_name] as object) }));
}

const file = writeResults("overhead", {
  method:
    `end to end = client-side time from POST /v1/reports to the completed answer of GET ?wait= (API and worker in one process, change stream wake-up, REUSE_WINDOW_S=0); ` +
    `direct = the report's pipeline with the driver in the same process: aggregate().toArray() + insertMany of the rows in chunks of ${config.rowsPerChunk} (primary baseline), and aggregate().toArray() alone; ` +
    `${WARMUP} warm-up pairs, then ${RUNS} interleaved pairs; ratio = median(end to end) / median(direct); median_of_paired_ratios = median over pairs of end to end / direct`,
  data: `sample_mflix movies (${movies} documents) and comments (${comments} documents)`,
  reports: results,
});
console.log(JSON.stringify({ event: "bench.done", file }));
await service.close();
await context.close();
await embedded.stop();
process.exit(0);
