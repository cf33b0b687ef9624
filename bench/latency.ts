/**
 * Submit → completed latency of a small report through the whole service (HTTP submit, change
 * stream, claim, aggregation, chunk write, completion event, wait= response), 20 runs after a
 * warm-up. `npm run build:dev && node dist/bench/latency.js`
 */
import process from "node:process";
import { loadConfig } from "../src/config.ts";
import { openContext } from "../src/context.ts";
import { silentLogger } from "../src/log.ts";
import { startService } from "../src/service.ts";
import { demoSize, seedDemoData } from "../scripts/lib/demo-data.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { median, percentile, writeResults } from "./lib.ts";

const RUNS = Number(process.env.RUNS ?? 20);
const embedded = process.env.MONGODB_URI ? undefined : await startEmbeddedMongo();
const config = loadConfig({
  ...process.env,
  MONGODB_URI: process.env.MONGODB_URI ?? embedded!.uri,
  MONGODB_DB: `bench_latency_${process.pid}`,
});
const context = await openContext({ component: "bench", config, log: silentLogger });
await seedDemoData(context.database.db, demoSize(500));
const service = await startService(context, { port: 0, host: "127.0.0.1" });

async function once(): Promise<{ total_ms: number; server_ms: number }> {
  const started = performance.now();
  const submitted = await fetch(`${service.url}/v1/reports`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ report_name: "top-movies-per-rating", top: 10 }),
  }).then((r) => r.json() as Promise<{ id: string }>);
  const done = await fetch(`${service.url}/v1/reports/${submitted.id}?wait=30`).then((r) => r.json() as Promise<Record<string, string>>);
  const total = performance.now() - started;
  if (done.status !== "completed") throw new Error(`run ended ${done.status}: ${JSON.stringify(done)}`);
  return { total_ms: total, server_ms: Date.parse(done.finished_at) - Date.parse(done.report_date) };
}

for (let i = 0; i < 3; i++) await once(); // warm-up: JIT, connection pool, server caches
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
const totals = runs.map((r) => r.total_ms);
const server = runs.map((r) => r.server_ms);
const file = writeResults("latency", {
  report: "top-movies-per-rating {top: 10} over 500 generated movies",
  runs: RUNS,
  submit_to_completed_ms: { median: median(totals), p95: percentile(totals, 95), min: Math.min(...totals), max: Math.max(...totals) },
  requested_to_finished_server_ms: { median: median(server), p95: percentile(server, 95) },
});
console.log(JSON.stringify({ event: "bench.done", file, median_ms: median(totals) }));
await service.close();
await context.close();
await embedded?.stop();
