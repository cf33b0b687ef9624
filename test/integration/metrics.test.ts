/**
 * Metrics: after a known workload the API's /metrics (API and an in-process worker share one
 * registry) holds the expected counts, label values stay bounded, and a worker process serves its
 * own series on METRICS_PORT.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post, request, submitAndWait } from "../support/http.ts";
import { spawnWorker, stopWorker } from "../support/processes.ts";
import { parsePrometheus, sampleValue } from "../support/prometheus.ts";
import { Worker } from "../../src/worker/worker.ts";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const REPORTS_DIRS = [path.join(FIXTURES, "progress-reports"), path.join(FIXTURES, "robustness-reports")];
const MOVIES = 300;

const test = suite("metrics");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("metrics");
  service = await startTestService(mongo, { worker: false, config: { reportsDirs: REPORTS_DIRS, reuseWindowMs: 0, retryBaseMs: 10 } });
  await service.context.database.db
    .collection("movies")
    .insertMany(Array.from({ length: MOVIES }, (_, i) => ({ _id: i as any, title: `movie ${i}` })));
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

async function scrape(url: string) {
  const response = await request(url);
  assert.is(response.status, 200);
  assert.ok(response.headers.get("content-type")?.startsWith("text/plain; version=0.0.4"), response.headers.get("content-type") ?? "");
  return { text: response.body as string, samples: parsePrometheus(response.body as string) };
}

test("after three completed reports and one that meets a transient error on every attempt, the counters and histograms hold those counts", async () => {
  const worker = new Worker(service.context);
  worker.start();
  try {
    for (let i = 0; i < 3; i++) assert.is((await submitAndWait(service.url, { report_name: "every-movie" })).status, "completed");
    const failed = await submitAndWait(service.url, { report_name: "fails-transiently" });
    assert.is(failed.status, "error");
    assert.is(failed.attempts, 3);
  } finally {
    await worker.stop();
  }
  assert.is((await post(`${service.url}/v1/reports`, { report_name: "no-such-report" })).status, 404);

  const { text, samples } = await scrape(`${service.url}/metrics`);
  const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, `mongo_reports_${name}`, labels);
  assert.is(value("requests_submitted_total", { report: "every-movie" }), 3);
  assert.is(value("requests_submitted_total", { report: "fails-transiently" }), 1);
  assert.is(value("requests_finished_total", { report: "every-movie", status: "completed" }), 3);
  assert.is(value("requests_finished_total", { report: "fails-transiently", status: "error" }), 1);
  assert.is(value("pickup_seconds_count"), 3 + 3, "one pickup per claim: three reports, three attempts of the failing one");
  assert.is(value("pickup_seconds_bucket", { le: "+Inf" }), 6);
  assert.is(value("run_seconds_count", { report: "every-movie", outcome: "completed" }), 3);
  assert.is(value("run_seconds_count", { report: "fails-transiently", outcome: "retry" }), 2);
  assert.is(value("run_seconds_count", { report: "fails-transiently", outcome: "error" }), 1);
  assert.is(value("failures_total", { code: "execution" }), 3);
  assert.is(value("retries_total", { report: "fails-transiently" }), 2);
  assert.is(value("lease_losses_total"), 0);
  assert.is(value("rows_written_total", { report: "every-movie" }), 3 * MOVIES);
  assert.is(value("http_requests_total", { method: "POST", route: "/v1/reports", status: "202" }), 4);
  assert.is(value("http_requests_total", { method: "POST", route: "/v1/reports", status: "404" }), 1);
  assert.ok(value("http_requests_total", { method: "GET", route: "/v1/reports/:id", status: "200" }) >= 4);
  assert.is(value("http_request_duration_seconds_count", { method: "POST", route: "/v1/reports" }), 5);
  assert.is(value("queue_depth", { status: "pending" }), 0);
  assert.is(value("queue_depth", { status: "running" }), 0);
  assert.ok(text.includes("mongo_reports_change_stream_reopens_total 0"));
  // Bounded labels: no request id anywhere, and the unknown report name did not become a label.
  assert.not.ok(/[0-9a-f]{24}/.test(text), "no ids in label values");
  assert.not.ok(text.includes("no-such-report"));
});

test("queue depth counts claimable pending requests apart from retries waiting out their backoff", async () => {
  for (let i = 0; i < 2; i++) await post(`${service.url}/v1/reports`, { report_name: "every-movie" });
  const waiting = { report_name: "every-movie", params: {}, status: "pending", attempts: 1, not_before: new Date(Date.now() + 3_600_000) };
  const { insertedId } = await service.context.database.requests.insertOne(waiting as any);
  await new Promise((resolve) => setTimeout(resolve, 5100)); // the depth is cached for 5 s
  const { samples } = await scrape(`${service.url}/metrics`);
  await service.context.database.requests.deleteOne({ _id: insertedId });
  assert.is(sampleValue(samples, "mongo_reports_queue_depth", { status: "pending" }), 2);
  assert.is(sampleValue(samples, "mongo_reports_queue_depth", { status: "backoff" }), 1);
});

test("a worker process serves its own /metrics on METRICS_PORT", async () => {
  const worker = spawnWorker(mongo, { env: { METRICS_PORT: "0", REPORTS_DIRS: REPORTS_DIRS.join(path.delimiter) } });
  try {
    const listening = await worker.waitFor((entry) => entry.event === "worker.metrics_listening");
    // The two requests left pending by the previous test.
    await worker.waitFor(() => worker.logs.filter((e) => e.event === "job.completed").length === 2);
    const { samples } = await scrape(listening.url as string);
    assert.is(sampleValue(samples, "mongo_reports_requests_finished_total", { report: "every-movie", status: "completed" }), 2);
    assert.is(sampleValue(samples, "mongo_reports_rows_written_total", { report: "every-movie" }), 2 * MOVIES);
    assert.ok(
      samples.some((s) => s.name.startsWith("mongo_reports_process_")),
      "process metrics too",
    );
    assert.is((await get((listening.url as string).replace("/metrics", "/other"))).status, 404);
  } finally {
    await stopWorker(worker);
  }
});

test.run();
