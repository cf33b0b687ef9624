/**
 * Worker processes as they run in production: separate OS processes competing through the
 * database, killed without warning, stopped with SIGTERM.
 */
import { GATED_REPORTS, openGate } from "../support/gate.ts";
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import type { ObjectId } from "mongodb";
import type { RequestStore } from "../../src/requests/store.ts";
import type { Database } from "../../src/db.ts";
import { startWorkerDatabase } from "../support/worker-database.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { eventually } from "../support/http.ts";
import { spawnWorker, stopWorker, type WorkerProcess } from "../support/processes.ts";

const test = suite("workers");
let mongo: TestMongo;
let database: Database;
let store: RequestStore;
const started: WorkerProcess[] = [];

function worker(env: Record<string, string> = {}, runtime: "node" | "deno" = "node"): WorkerProcess {
  const w = spawnWorker(mongo, { env, runtime });
  started.push(w);
  return w;
}

async function finalState(id: ObjectId, timeoutMs = 60_000) {
  return eventually(async () => {
    const doc = await database.requests.findOne({ _id: id });
    return doc && ["completed", "error", "cancelled"].includes(doc.status) ? doc : undefined;
  }, timeoutMs);
}

test.before(async () => {
  ({ mongo, database, store } = await startWorkerDatabase("workers"));
});

test.after.each(async () => {
  await Promise.all(started.splice(0).map((w) => stopWorker(w, "SIGKILL")));
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

test("two worker processes compete for 50 requests: each completes exactly once", async () => {
  const a = worker({ WORKER_CONCURRENCY: "2" });
  const b = worker({ WORKER_CONCURRENCY: "2" });
  await Promise.all([a.waitFor((e) => e.event === "worker.started"), b.waitFor((e) => e.event === "worker.started")]);
  const ids: ObjectId[] = [];
  for (let i = 0; i < 50; i++) {
    ids.push((await store.submit({ report_name: "top-movies-per-rating", params: { top: 1 + (i % 7) }, output: "json" }))._id);
  }
  for (const id of ids) {
    const doc = await finalState(id);
    assert.is(doc.status, "completed", JSON.stringify(doc.error));
    assert.is(doc.attempts, 1, "claimed once");
  }
  // A worker logs job.completed just after its write: give the last lines time to arrive, and
  // any duplicate completion time to show up.
  const completionEvents = () => [...a.logs, ...b.logs].filter((e) => e.event === "job.completed");
  await eventually(async () => (completionEvents().length >= 50 ? true : undefined), 10_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const completions = completionEvents().map((e) => String(e.request_id));
  assert.is(completions.length, 50, "50 completions in all");
  assert.is(new Set(completions).size, 50, "no request completed twice");
  const byA = a.logs.filter((e) => e.event === "job.completed").length;
  assert.ok(byA > 0 && byA < 50, `both workers took part (a: ${byA}, b: ${50 - byA})`);
});

test("a worker killed with SIGKILL mid-job: another finishes it after the lease expires", async () => {
  // gated-rows runs until the test closes its gate: the worker is mid-job when it is killed, on any machine.
  const env = { REPORTS_DIRS: GATED_REPORTS, LEASE_MS: "2000", ROWS_PER_CHUNK: "1" };
  const victim = worker(env);
  await victim.waitFor((e) => e.event === "worker.started", 180_000);
  const gate = await openGate(database.db);
  const { _id: id } = await store.submit({ report_name: "gated-rows", params: gate.params, output: "json" });
  await gate.pass(5);
  await eventually(
    async () => ((await database.results.countDocuments({ request_id: id, attempt: 1 })) > 0 ? true : undefined),
    120_000,
    5,
  );
  await stopWorker(victim, "SIGKILL");
  const running = await database.requests.findOne({ _id: id });
  assert.is(running!.status, "running", "killed mid-job");

  const rescuer = worker(env);
  // The second attempt reads the gate from its opening: the five rows again, then five more.
  await eventually(
    async () => ((await database.results.countDocuments({ request_id: id, attempt: 2 })) > 0 ? true : undefined),
    120_000,
    5,
  );
  await gate.pass(5);
  await gate.close();
  const doc = await finalState(id, 120_000);
  assert.is(doc.status, "completed");
  assert.is(doc.attempts, 2, "the second attempt finished it");
  assert.is(doc.result!.attempt, 2);
  const rows = await database.results.find({ request_id: id, attempt: 2 }).toArray();
  const titles = rows.flatMap((chunk: any) => chunk.rows.map((row: { title?: string }) => row.title)).filter(Boolean);
  assert.equal(
    titles,
    Array.from({ length: 10 }, (_, i) => `row ${i + 1}`),
    "every row, once",
  );
  assert.is(await database.results.countDocuments({ request_id: id, attempt: 1 }), 0, "the dead attempt's rows are gone");
  assert.ok(rescuer.logs.some((e) => e.event === "job.completed" && e.request_id === String(id)));
});

test("SIGTERM: the worker stops claiming, releases what it cannot finish, and exits 0", async () => {
  const w = worker({ ROWS_PER_CHUNK: "1", SHUTDOWN_GRACE_MS: "0" });
  await w.waitFor((e) => e.event === "worker.started");
  const { _id: id } = await store.submit({ report_name: "top-movies-per-rating", params: {}, output: "json" });
  await w.waitFor((e) => e.event === "job.started");
  const exit = await stopWorker(w, "SIGTERM");
  assert.equal(exit, { code: 0, signal: null });
  const doc = await database.requests.findOne({ _id: id });
  if (doc!.status === "completed") return; // it finished inside the grace period: also correct
  assert.is(doc!.status, "pending", "released for another worker");
  assert.is(doc!.attempts, 0, "a graceful release does not spend an attempt");
  assert.is(doc!.lease, null);
  assert.ok(w.logs.some((e) => e.event === "job.released"));
  assert.is(await database.results.countDocuments({ request_id: id }), 0, "the released attempt's partial rows are gone");
  // The next worker claims it under the same attempt number and finishes it first time.
  worker();
  const done = await finalState(id);
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.attempts, 1);
});

test("a worker that cannot reach MongoDB for UNREACHABLE_EXIT_S exits 1 for its supervisor to restart", async () => {
  const doomed = await startTestMongo("unreachable");
  const w = spawnWorker(doomed, { env: { UNREACHABLE_EXIT_S: "1", SWEEP_MS: "200" } });
  started.push(w);
  await w.waitFor((e) => e.event === "worker.started");
  await doomed.stop();
  const exit = await Promise.race([
    w.exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error("the worker did not exit within 60 s")), 60_000).unref()),
  ]);
  assert.equal(exit, { code: 1, signal: null });
  assert.ok(w.logs.some((e) => e.event === "worker.database_unreachable"));
});

test("a worker under Deno runs the same sources end to end", async () => {
  const w = worker({}, "deno");
  await w.waitFor((e) => e.event === "worker.started", 60_000);
  assert.is(w.logs.find((e) => e.event === "worker.started")!.runtime, "deno");
  const { _id: id } = await store.submit({
    report_name: "top-directors-per-movie-rating",
    params: { top: 3, movies: { $gte: 2 } },
    output: "json",
  });
  const bad = await database.requests.insertOne({
    report_name: "top-movies-per-rating",
    params: { rating: { $gt: "x" } },
    status: "pending",
  } as any);
  const doc = await finalState(id);
  assert.is(doc.status, "completed", JSON.stringify(doc.error));
  assert.is(doc.result!.row_count, 3);
  const failed = await finalState(bad.insertedId);
  assert.is(failed.status, "error");
  assert.is(failed.error!.code, "validation");
  assert.equal(await stopWorker(w, "SIGTERM"), { code: 0, signal: null });
});

test.run();
