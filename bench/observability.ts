/**
 * f) The cost of progress and metrics on throughput. The machine is shared (load averages of 30 on
 * 2 cores were seen), so the two variants are measured in pairs of short batches on one test
 * server, close in time, in ABBA order (the server slows as its oplog grows; alternating the
 * order cancels that drift), and the result is the median of the per-pair ratios:
 *   - "with": as shipped: progress written with the heartbeat at most every PROGRESS_INTERVAL_MS
 *     (1 s), every claim and attempt recorded in the Prometheus registry;
 *   - "without": no metrics object, and PROGRESS_INTERVAL_MS at its maximum, so progress only
 *     rides on the lease renewals (every HEARTBEAT_MS, 10 s), as the lease alone was written
 *     before progress existed. The in-memory row counter stays (one increment per row).
 * Workloads: no-op jobs (jobs/s: what metrics add per job) and jobs writing ROWS rows each (rows/s:
 * progress writes during long jobs). Each batch is queued first, then one in-process worker
 * (the code worker processes run, concurrency 2) works through it.
 * A scrape costs per scrape, not per job: its time (rendering the registry with prom-client's
 * process metrics) is measured on its own, as the share of one core it takes at the 15 s scrape
 * interval of ops/prometheus.yml.
 * `npm run bench:observability`
 */
import process from "node:process";
import path from "node:path";
import { loadConfig, type Config } from "../src/config.ts";
import { openContext, type AppContext } from "../src/context.ts";
import { createLogger, silentLogger } from "../src/log.ts";
import { Worker } from "../src/worker/worker.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { DIST } from "./harness.ts";
import { median, writeResults } from "./lib.ts";

const PAIRS = Number(process.env.PAIRS ?? 6);
const NOOP_BATCH = Number(process.env.NOOP_BATCH ?? 40);
const ROW_BATCH = Number(process.env.ROW_BATCH ?? 2);
const ROWS = Number(process.env.ROWS ?? 20_000);
const CONCURRENCY = 2;
const SCRAPE_INTERVAL_MS = 15_000;

type Variant = "with" | "without";
type Workload = "noop" | "rows";

async function batch(context: AppContext, variant: Variant, workload: Workload, tag: number): Promise<number> {
  const config: Config = { ...context.config, progressIntervalMs: variant === "with" ? 1000 : 600_000 };
  const worker = new Worker(variant === "with" ? { ...context, config } : { ...context, config, metrics: undefined });
  const jobs = workload === "noop" ? NOOP_BATCH : ROW_BATCH;
  const report = workload === "noop" ? "bench-noop" : "bench-rows";
  const ids = [];
  for (let i = 0; i < jobs; i++)
    ids.push((await context.store.submit({ report_name: report, params: { i: tag * 1000 + i }, output: "json" }))._id);
  const started = Date.now();
  worker.start();
  let ms = 0;
  try {
    for (;;) {
      const done = await context.database.requests.countDocuments({ _id: { $in: ids }, status: { $in: ["completed", "error"] } });
      if (done >= jobs) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    ms = Date.now() - started;
    await worker.stop();
    // Rows of finished batches are not needed again: keep the results collection small.
    await context.database.results.deleteMany({});
  }
  // After the finally, not in it: a return there would swallow an error thrown while waiting.
  const failed = await context.database.requests.countDocuments({ _id: { $in: ids }, status: "error" });
  if (failed > 0) throw new Error(`${failed} ${report} jobs failed`);
  return ((workload === "noop" ? jobs : jobs * ROWS) / ms) * 1000;
}

async function measure(workload: Workload) {
  const server = await startEmbeddedMongo();
  const config = loadConfig({
    MONGODB_URI: server.uri,
    MONGODB_DB: "observability",
    WORKER_CONCURRENCY: String(CONCURRENCY),
    REPORTS_DIRS: path.join(DIST, "bench", "reports"),
    REUSE_WINDOW_S: "0",
  });
  const log = process.env.BENCH_LOG ? createLogger({ component: "bench" }) : silentLogger;
  const context = await openContext({ component: "bench", config, log });
  try {
    if (workload === "rows") {
      const docs = Array.from({ length: ROWS }, (_, n) => ({ n, label: `row ${n}` }));
      for (let i = 0; i < docs.length; i += 10_000)
        await context.database.db.collection("bench_rows").insertMany(docs.slice(i, i + 10_000));
    }
    await batch(context, "with", workload, 0); // warm-up (JIT, server), not counted
    const pairs: { with: number; without: number; ratio: number }[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const order: Variant[] = pair % 2 === 0 ? ["with", "without"] : ["without", "with"];
      const rate: Partial<Record<Variant, number>> = {};
      for (const variant of order) rate[variant] = await batch(context, variant, workload, pair * 2 + order.indexOf(variant) + 1);
      const entry = { with: round(rate.with!), without: round(rate.without!), ratio: round(rate.with! / rate.without!, 3) };
      pairs.push(entry);
      process.stdout.write(`${JSON.stringify({ workload, pair, ...entry })}\n`);
    }
    const renders: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await context.metrics.render();
      renders.push(performance.now() - started);
    }
    const progressWritten = await context.database.requests.countDocuments({ progress: { $type: "object" } });
    return {
      with_per_s: round(median(pairs.map((p) => p.with))),
      without_per_s: round(median(pairs.map((p) => p.without))),
      median_ratio_with_over_without: round(median(pairs.map((p) => p.ratio)), 3),
      ratio_range: [Math.min(...pairs.map((p) => p.ratio)), Math.max(...pairs.map((p) => p.ratio))],
      jobs_that_wrote_progress: progressWritten,
      scrape_render_ms_median: round(median(renders), 2),
      pairs,
    };
  } finally {
    await context.close();
    await server.stop();
  }
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const noop = await measure("noop");
const rows = await measure("rows");
const renderMs = median([noop.scrape_render_ms_median, rows.scrape_render_ms_median]);
const file = writeResults("observability", {
  scrape: {
    render_ms_median: renderMs,
    share_of_a_core_at_15s: round((renderMs / SCRAPE_INTERVAL_MS) * 100, 3) + " %",
  },
  method:
    `pairs of batches on one test server per workload (ABBA order, one warm-up batch first), one in-process worker (concurrency ${CONCURRENCY}); ` +
    `"with" = as shipped (progress at most every 1 s with the heartbeat, metrics recorded), ` +
    `"without" = no metrics, PROGRESS_INTERVAL_MS=600000 (progress only with the 10 s lease renewals); result = median of per-pair ratios`,
  pairs: PAIRS,
  noop: { jobs_per_batch: NOOP_BATCH, unit: "jobs/s", ...noop },
  rows: { jobs_per_batch: ROW_BATCH, rows_per_job: ROWS, unit: "rows/s", ...rows },
});
console.log(`wrote ${file}`);
