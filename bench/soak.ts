/**
 * Soak: CLIENTS clients (8) each submit a no-op request and hold `GET ?wait=30` until it is done,
 * then submit the next, for SOAK_MINUTES (10) against one API process and WORKERS (1) worker
 * processes on one embedded test server. It stops by itself at the deadline (the clients finish
 * the request they are on).
 * Reported: completed requests per minute, throughput of the last minute against the second (the
 * first is warm-up: JIT, connection pools; target: within 15 % either way, so a job's cost does not
 * grow with the history the run leaves behind), the RSS of the API and of each worker sampled every SAMPLE_S seconds
 * (target: flat, i.e. the last minute's mean within 15 % of the first minute's), and errors.
 * Before the clock starts, the test server is warmed for SERVER_WARMUP_S (120) seconds by the same
 * load on a database of its own (its own API and worker processes, stopped and the database dropped
 * after): a fresh JVM keeps compiling for minutes, so without it the first minutes ran 15–20 %
 * slower than the rest and the last minute came out 1.18–1.22x the second, on the fast side of
 * the band. MongoDB, compiled ahead of time, never pays that; bench:throughput warms its servers
 * for the same reason. The service's own warm-up (its JIT, connection pools) stays in the first
 * minute, as the target says.
 * `npm run bench:soak` (SOAK_MINUTES=3 for a short check; at least 2, the warm-up and one measured minute).
 */
import process from "node:process";
import { MongoClient } from "mongodb";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { rssMb, sleep, startApi, startWorker } from "./harness.ts";
import { writeResults } from "./lib.ts";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const CLIENTS = Number(process.env.CLIENTS ?? 8);
const WORKERS = Number(process.env.WORKERS ?? 1);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 5);
/** The test server's warm-up before the clock starts (see above); 0: none. */
const SERVER_WARMUP_S = Number(process.env.SERVER_WARMUP_S ?? 120);
const TOLERANCE = 0.15;
if (!(MINUTES >= 2)) throw new Error(`SOAK_MINUTES must be at least 2 (one minute of warm-up, then the measured ones), not ${MINUTES}`);

const server = await startEmbeddedMongo();
/** What the warm-up did: its requests count as much as the soak's, a failed one included. */
const warmup = SERVER_WARMUP_S > 0 ? await warmServer() : null;
const target = { mongoUri: server.uri, dbName: "bench_soak" };
const api = await startApi(target);
/** The workers' first warnings and errors (a soak keeps no logs): what a failed request's error does not say. */
const workerProblems: unknown[] = [];
const workers = Array.from({ length: WORKERS }, () =>
  startWorker("ours", { ...target, concurrency: 4 }, (line) => {
    if ((line.level === "warn" || line.level === "error") && workerProblems.length < 20) workerProblems.push(line);
  }),
);

const completedAt: number[] = [];
const errors: string[] = [];
const rss: { at_s: number; api_mb: number; workers_mb: number[] }[] = [];

/** One client: submits and waits, one request after another, until `deadline`. */
async function client(apiUrl: string, n: number, t0: number, deadline: number, completedAt: number[], errors: string[]): Promise<void> {
  for (let i = 0; Date.now() < deadline; i++) {
    try {
      const response = await fetch(`${apiUrl}/v1/reports`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ report_name: "bench-noop", i: n * 1_000_000 + i }),
      });
      if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
      let status = (await response.json()) as { id: string; status: string };
      const id = status.id;
      while (status.status === "pending" || status.status === "running")
        status = (await fetch(`${apiUrl}/v1/reports/${id}?wait=30`).then((r) => r.json())) as typeof status;
      // The request's own error says what failed (the service's logs are not kept in a soak).
      if (status.status !== "completed")
        throw new Error(`request ${id} ended ${status.status}: ${JSON.stringify((status as { error?: unknown }).error)}`);
      completedAt.push(Date.now() - t0);
    } catch (error) {
      errors.push(String(error));
      await sleep(100);
    }
  }
}

/** The soak's load for SERVER_WARMUP_S on a database of its own, with its own API and workers; then the database is dropped. */
async function warmServer(): Promise<{ seconds: number; completed: number; errors: number; first_errors: string[] }> {
  const warmTarget = { mongoUri: server.uri, dbName: "bench_soak_warmup" };
  const warmApi = await startApi(warmTarget);
  const warmWorkers = Array.from({ length: WORKERS }, () => startWorker("ours", { ...warmTarget, concurrency: 4 }, () => {}));
  await Promise.all(warmWorkers.map((w) => w.ready));
  const t0 = Date.now();
  const done: number[] = [];
  const failed: string[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(warmApi.url, n, t0, t0 + SERVER_WARMUP_S * 1000, done, failed)));
  await Promise.all(warmWorkers.map((w) => w.stop()));
  await warmApi.stop();
  const admin = new MongoClient(server.uri);
  await admin.db(warmTarget.dbName).dropDatabase();
  await admin.close();
  const summary = { seconds: SERVER_WARMUP_S, completed: done.length, errors: failed.length, first_errors: failed.slice(0, 5) };
  console.log(JSON.stringify({ event: "bench.soak.server_warmed", ...summary }));
  return summary;
}

try {
  await Promise.all(workers.map((w) => w.ready));
  const t0 = Date.now();
  const deadline = t0 + MINUTES * 60_000;
  const sampler = setInterval(() => {
    rss.push({
      at_s: Math.round((Date.now() - t0) / 1000),
      api_mb: rssMb(api.child.pid!),
      workers_mb: workers.map((w) => rssMb(w.child.pid!)),
    });
  }, SAMPLE_S * 1000);
  let lastReport = 0;
  const progress = setInterval(() => {
    const done = completedAt.length;
    console.log(
      JSON.stringify({
        event: "bench.soak.progress",
        at_s: Math.round((Date.now() - t0) / 1000),
        completed: done,
        last_interval: done - lastReport,
        errors: errors.length,
        rss: rss.at(-1),
      }),
    );
    lastReport = done;
  }, 30_000);
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(api.url, n, t0, deadline, completedAt, errors)));
  clearInterval(sampler);
  clearInterval(progress);

  const perMinute = Array.from({ length: MINUTES }, (_, m) => completedAt.filter((t) => t >= m * 60_000 && t < (m + 1) * 60_000).length);
  const first = perMinute[0];
  const second = perMinute[1];
  const last = perMinute[MINUTES - 1];
  const mean = (values: number[]) => Math.round((values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)) * 10) / 10;
  const inMinute = (m: number) => rss.filter((s) => s.at_s > m * 60 && s.at_s <= (m + 1) * 60);
  const rssSummary = (pick: (s: (typeof rss)[number]) => number) => {
    const firstMean = mean(inMinute(0).map(pick));
    const lastMean = mean(inMinute(MINUTES - 1).map(pick));
    return {
      first_minute_mean_mb: firstMean,
      last_minute_mean_mb: lastMean,
      max_mb: Math.max(...rss.map(pick)),
      flat: lastMean <= firstMean * (1 + TOLERANCE),
    };
  };
  const throughputRatio = Math.round((last / first) * 1000) / 1000;
  const afterWarmUp = Math.round((last / second) * 1000) / 1000;
  const apiRss = rssSummary((s) => s.api_mb);
  const workerRss = workers.map((_, k) => rssSummary((s) => s.workers_mb[k]));
  const file = writeResults("soak", {
    method:
      `${CLIENTS} clients, each: POST bench-noop, then GET ?wait=30 until completed, then the next; ${MINUTES} minutes; one API process + ${WORKERS} worker process(es) (concurrency 4) on one embedded test server, ` +
      `warmed first for ${SERVER_WARMUP_S} s by the same load on a database of its own (then dropped); ` +
      `RSS (VmRSS) sampled every ${SAMPLE_S} s; "flat" = last minute's mean RSS within ${TOLERANCE * 100} % of the first minute's`,
    minutes: MINUTES,
    server_warmup: warmup,
    completed: completedAt.length,
    errors: errors.length,
    first_errors: errors.slice(0, 5),
    worker_problems: workerProblems,
    completed_per_minute: perMinute,
    jobs_per_s_first_minute: Math.round((first / 60) * 10) / 10,
    jobs_per_s_second_minute: Math.round((second / 60) * 10) / 10,
    jobs_per_s_last_minute: Math.round((last / 60) * 10) / 10,
    last_over_first: throughputRatio,
    last_over_second: afterWarmUp,
    rss: { api: apiRss, workers: workerRss },
    rss_samples: rss,
    targets: {
      "after one minute of warm-up, the last minute within 15 % of the second": {
        ratio: afterWarmUp,
        met: Math.abs(afterWarmUp - 1) <= TOLERANCE,
      },
      "API and worker RSS flat": { met: apiRss.flat && workerRss.every((w) => w.flat) },
    },
  });
  console.log(
    JSON.stringify({
      event: "bench.done",
      file,
      completed_per_minute: perMinute,
      last_over_second: afterWarmUp,
      last_over_first: throughputRatio,
      errors: errors.length,
    }),
  );
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  await api.stop();
  await server.stop();
}
process.exit(0);
