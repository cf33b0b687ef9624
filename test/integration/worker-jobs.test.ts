/**
 * Workers as Kubernetes Jobs run them (the Helm chart's KEDA ScaledJob): WORKER_MAX_JOBS claims that
 * many requests, runs them, delivers their webhooks and exits 0, or exits 0 at once when nothing is due; WORKER_CONCURRENCY=0
 * is the resident worker beside them, which claims nothing. Real worker processes, real test server.
 */
import { randomBytes } from "node:crypto";
import type { ObjectId } from "mongodb";
import * as assert from "uvu/assert";
import type { RequestStore } from "../../src/requests/store.ts";
import type { Database } from "../../src/db.ts";
import { startWorkerDatabase } from "../support/worker-database.ts";
import type { TestMongo } from "../support/mongo.ts";
import { spawnWorker, stopWorker, type ExitStatus, type WorkerProcess } from "../support/processes.ts";
import { suite } from "../support/suite.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";

const test = suite("worker jobs");
let mongo: TestMongo;
let database: Database;
let store: RequestStore;
const started: WorkerProcess[] = [];

function worker(env: Record<string, string>, runtime: "node" | "deno" = "node"): WorkerProcess {
  const w = spawnWorker(mongo, { env, runtime });
  started.push(w);
  return w;
}

/** The worker's exit, or a failure naming what it logged if it has not exited within `ms`. */
async function exitOf(w: WorkerProcess, ms = 120_000): Promise<ExitStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms; logged: ${w.logs.map((e) => e.event).join(", ")}`)), ms);
  });
  try {
    return await Promise.race([w.exited, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function submit(count: number): Promise<ObjectId[]> {
  const ids: ObjectId[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await store.submit({ report_name: "top-movies-per-rating", params: { top: 1 + i }, output: "json" }))._id);
  return ids;
}

async function statuses(ids: ObjectId[]) {
  const docs = await database.requests.find({ _id: { $in: ids } }).toArray();
  return ids.map((id) => docs.find((doc) => String(doc._id) === String(id))!);
}

test.before(async () => {
  ({ mongo, database, store } = await startWorkerDatabase("worker_jobs"));
});

test.after.each(async () => {
  await Promise.all(started.splice(0).map((w) => stopWorker(w, "SIGKILL")));
  await database.requests.deleteMany({});
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

test("WORKER_MAX_JOBS=1: one of two due requests is claimed and completed, then the worker exits 0", async () => {
  const ids = await submit(2);
  const w = worker({ WORKER_MAX_JOBS: "1" });
  assert.equal(await exitOf(w), { code: 0, signal: null });
  const docs = await statuses(ids);
  assert.equal(docs.map((doc) => doc.status).sort(), ["completed", "pending"], JSON.stringify(docs.map((doc) => doc.error)));
  const left = docs.find((doc) => doc.status === "pending")!;
  assert.is(left.attempts, 0, "the other was never claimed");
  assert.is(w.logs.filter((e) => e.event === "job.completed").length, 1);
  assert.is(w.logs.find((e) => e.event === "worker.done")?.jobs, 1);
  assert.ok(
    w.logs.some((e) => e.event === "worker.stopped"),
    "it stopped the graceful way",
  );
});

test("WORKER_MAX_JOBS: the request's webhook is delivered before the worker exits", async () => {
  const receiver = await startWebhookReceiver();
  try {
    const { _id: id } = await store.submit({
      report_name: "top-movies-per-rating",
      params: {},
      output: "json",
      callback_url: `${receiver.url}/hook`,
    });
    const w = worker({
      WORKER_MAX_JOBS: "1",
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
      WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
    });
    assert.equal(await exitOf(w), { code: 0, signal: null });
    const [doc] = await statuses([id]);
    assert.is(doc.status, "completed", JSON.stringify(doc.error));
    assert.is(doc.callback?.state, "delivered", JSON.stringify(doc.callback));
    assert.is(receiver.received.length, 1);
    assert.is(JSON.parse(receiver.received[0].body).id, String(id));
  } finally {
    await receiver.close();
  }
});

test("WORKER_MAX_JOBS=2 with WORKER_CONCURRENCY=1: two requests one after the other, the third left, exit 0", async () => {
  const ids = await submit(3);
  const w = worker({ WORKER_MAX_JOBS: "2", WORKER_CONCURRENCY: "1" });
  assert.equal(await exitOf(w), { code: 0, signal: null });
  const docs = await statuses(ids);
  assert.equal(docs.map((doc) => doc.status).sort(), ["completed", "completed", "pending"]);
  assert.is(w.logs.find((e) => e.event === "worker.done")?.jobs, 2);
});

test("WORKER_MAX_JOBS on Deno: the same worker runs one request and exits 0", async () => {
  const ids = await submit(2);
  const w = worker({ WORKER_MAX_JOBS: "1" }, "deno");
  assert.equal(await exitOf(w, 240_000), { code: 0, signal: null });
  assert.is(w.logs.find((e) => e.event === "worker.started")?.runtime, "deno");
  assert.equal((await statuses(ids)).map((doc) => doc.status).sort(), ["completed", "pending"]);
});

test("WORKER_MAX_JOBS with nothing due: the worker exits 0 at once and leaves a retry waiting out its backoff alone", async () => {
  const [id] = await submit(1);
  await database.requests.updateOne({ _id: id }, { $set: { not_before: new Date(Date.now() + 3_600_000) } });
  const w = worker({ WORKER_MAX_JOBS: "1" });
  assert.equal(await exitOf(w), { code: 0, signal: null });
  assert.is(w.logs.find((e) => e.event === "worker.done")?.jobs, 0);
  assert.ok(!w.logs.some((e) => e.event === "job.started"));
  const [doc] = await statuses([id]);
  assert.equal([doc.status, doc.attempts], ["pending", 0]);
});

test("WORKER_CONCURRENCY=0: the resident worker claims nothing; a WORKER_MAX_JOBS worker takes the request", async () => {
  const resident = worker({ WORKER_CONCURRENCY: "0" });
  await resident.waitFor((e) => e.event === "worker.started");
  const [id] = await submit(1);
  // Its change event and several sweeps (SWEEP_MS is 500 ms here) pass without a claim.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const [waiting] = await statuses([id]);
  assert.equal([waiting.status, waiting.attempts], ["pending", 0], "the resident left it");
  const job = worker({ WORKER_MAX_JOBS: "1" });
  assert.equal(await exitOf(job), { code: 0, signal: null });
  const [doc] = await statuses([id]);
  assert.is(doc.status, "completed", JSON.stringify(doc.error));
  assert.ok(!resident.logs.some((e) => e.event === "job.started"));
  assert.equal(await stopWorker(resident, "SIGTERM"), { code: 0, signal: null });
});

test.run();
