/**
 * Retries, time limits, cancellation, idempotent submission, result reuse and retention, each
 * against the real service and server.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ObjectId } from "mongodb";
import { purgeExpired } from "../../src/worker/retention.ts";
import { scopedKey } from "../../src/requests/idempotency.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post, request } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";
import { GATED_REPORTS, openGate } from "../support/gate.ts";

const FIXTURE_REPORTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "robustness-reports");

const test = suite("robustness");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("robustness");
  // Reports that must be seen running are gated-rows: they run until their test closes the gate.
  // A lease far longer than any test (heartbeat every 10 min) proves cancellation reaches the
  // worker through the change stream: no heartbeat comes while a test waits.
  service = await startTestService(mongo, {
    config: {
      rowsPerChunk: 1,
      reportsDirs: [FIXTURE_REPORTS, GATED_REPORTS],
      reuseWindowMs: 60_000,
      leaseMs: 1_800_000,
      heartbeatMs: 600_000,
    },
  });
  await loadMflix(service.context.database.db, ["movies"]);
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const requests = () => service.context.database.requests;
const chunksOf = (id: string) => service.context.database.results.countDocuments({ request_id: new ObjectId(id) });

test("a report that meets a transient error is retried with backoff up to max_attempts, then ends in error with the last reason", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "fails-transiently" });
  const done = await get(`${service.url}/v1/reports/${submitted.body.id}?wait=20`);
  assert.is(done.body.status, "error");
  assert.is(done.body.attempts, 3, "the report's own max_attempts");
  assert.is(done.body.error.code, "execution");
  assert.ok(/MongoNetworkError: connection reset/.test(done.body.error.message), done.body.error.message);
});

test("a pipeline the server rejects fails on the first attempt, with the server's code in details", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "always-fails" });
  const done = await get(`${service.url}/v1/reports/${submitted.body.id}?wait=20`);
  assert.is(done.body.status, "error");
  assert.is(done.body.attempts, 1, "not retried: it would fail the same way");
  assert.is(done.body.error.code, "execution");
  assert.ok(/noSuchStageForTests/.test(done.body.error.message), done.body.error.message);
  assert.type(done.body.error.details?.server_code, "number");
});

test("bad input fails at once, without retries", async () => {
  const { insertedId } = await requests().insertOne({
    report_name: "top-movies-per-rating",
    params: { top: -1 },
    status: "pending",
  } as any);
  const done = await get(`${service.url}/v1/reports/${insertedId}?wait=20`);
  assert.is(done.body.status, "error");
  assert.is(done.body.attempts, 1);
  assert.is(done.body.error.code, "validation");
});

test("a report past its time limit ends in error with code timeout and leaves no rows", async () => {
  // Its gate never opens: it cannot finish within its 300 ms on any machine.
  const gate = await openGate(service.context.database.db);
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "gated-rows-limited", ...gate.params });
  await gate.pass(1);
  const done = await eventually(async () => {
    const response = await get(`${service.url}/v1/reports/${submitted.body.id}?wait=20`);
    return response.body.status === "error" ? response : undefined;
  }, 120_000);
  assert.is(done.body.status, "error");
  assert.is(done.body.error.code, "timeout");
  assert.is(done.body.attempts, 1, "a timeout is not retried");
  assert.is(await chunksOf(submitted.body.id), 0);
});

const cancel = (id: unknown) => request(`${service.url}/v1/reports/${id}/cancel`, { method: "POST" });

test("cancel stops a pending request at once; no worker runs it", async () => {
  const { insertedId } = await requests().insertOne({
    report_name: "top-movies-per-rating",
    params: {},
    status: "pending",
    not_before: new Date(Date.now() + 60_000),
  } as any);
  const response = await cancel(insertedId);
  assert.is(response.status, 200);
  assert.is(response.body.status, "cancelled");
  await requests().updateOne({ _id: insertedId }, { $set: { not_before: null } });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // two sweeps
  const doc = await requests().findOne({ _id: insertedId });
  assert.is(doc!.status, "cancelled");
  assert.is(doc!.attempts ?? 0, 0);
  const again = await cancel(insertedId);
  assert.is(again.status, 200, "cancelling twice is harmless");
  assert.is((await get(`${service.url}/v1/reports/${insertedId}`)).body.status, "cancelled", "the record stays");
});

test("cancel stops a running report (through the change stream: no heartbeat comes) and removes its partial rows", async () => {
  const gate = await openGate(service.context.database.db);
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "gated-rows", ...gate.params });
  const id = submitted.body.id;
  await gate.pass(3);
  await eventually(async () => ((await chunksOf(id)) > 0 ? true : undefined), 120_000, 5);
  const response = await cancel(id);
  assert.is(response.body.status, "cancelled");
  await eventually(async () => ((await chunksOf(id)) === 0 && service.worker?.activeJobs === 0 ? true : undefined), 120_000, 20);
  await gate.pass(3); // rows after the stop have nowhere to go
  await eventually(async () => (service.worker?.activeJobs === 0 ? true : undefined), 10_000);
  assert.is(await chunksOf(id), 0, "no rows written after the stop");
  const doc = await requests().findOne({ _id: new ObjectId(id) });
  assert.is(doc!.status, "cancelled", "the worker did not complete it afterwards");
  await gate.close();
});

test("cancel of a finished request: 409; of an unknown one: 404", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 2 });
  await get(`${service.url}/v1/reports/${submitted.body.id}?wait=20`);
  const response = await cancel(submitted.body.id);
  assert.is(response.status, 409);
  assert.is(response.body.type, "https://mongo-reports.dev/problems/already-finished");
  assert.is((await cancel("b".repeat(24))).status, 404);
});

test("DELETE removes a completed request with its rows, CSV file and idempotency key; then 404", async () => {
  const body = { report_name: "top-movies-per-rating", top: 3, output: "both" };
  const submitted = await post(`${service.url}/v1/reports`, body, { "Idempotency-Key": "to-delete", "Cache-Control": "no-cache" });
  const id = submitted.body.id;
  const done = await get(`${service.url}/v1/reports/${id}?wait=20`);
  assert.is(done.body.status, "completed");
  assert.ok((await chunksOf(id)) > 0);
  const file = { requestId: new ObjectId(id), attempt: 1, ext: "csv" };
  const before = await service.context.csvSink.read(file);
  assert.ok(before, "the CSV file exists before");
  before.stream.destroy();
  const removed = await request(`${service.url}/v1/reports/${id}`, { method: "DELETE" });
  assert.is(removed.status, 204);
  assert.is((await get(`${service.url}/v1/reports/${id}`)).status, 404);
  assert.is((await get(`${service.url}/v1/reports/${id}/csv`)).status, 404);
  assert.is((await request(`${service.url}/v1/reports/${id}`, { method: "DELETE" })).status, 404);
  assert.is(await chunksOf(id), 0, "rows removed");
  assert.is(await service.context.csvSink.read(file), null, "file removed");
  assert.is(await service.context.database.idempotency.countDocuments({ request_id: new ObjectId(id) }), 0, "key removed");
});

test("DELETE of a running request cancels it, then removes it; the worker leaves nothing behind", async () => {
  const gate = await openGate(service.context.database.db);
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "gated-rows", ...gate.params });
  const id = submitted.body.id;
  await gate.pass(3);
  await eventually(async () => ((await chunksOf(id)) > 0 ? true : undefined), 120_000, 5);
  assert.is((await request(`${service.url}/v1/reports/${id}`, { method: "DELETE" })).status, 204);
  assert.is((await get(`${service.url}/v1/reports/${id}`)).status, 404);
  await eventually(async () => (service.worker?.activeJobs === 0 ? true : undefined), 120_000);
  assert.is(await chunksOf(id), 0, "no rows left by the stopped worker");
  assert.is(await requests().countDocuments({ _id: new ObjectId(id) }), 0, "the worker did not write the request back");
  await gate.close();
});

test("Idempotency-Key: same key and body → the same request; different body → 422", async () => {
  const body = { report_name: "top-movies-per-rating", top: 3, min_votes: 4242 };
  const first = await post(`${service.url}/v1/reports`, body, { "Idempotency-Key": "order-42" });
  assert.is(first.status, 202);
  // The same body written differently (key order) is the same request.
  const second = await post(
    `${service.url}/v1/reports`,
    { min_votes: 4242, top: 3, report_name: "top-movies-per-rating" },
    { "Idempotency-Key": "order-42" },
  );
  assert.is(second.body.id, first.body.id);
  assert.is(second.headers.get("idempotent-replayed"), "true");
  const different = await post(`${service.url}/v1/reports`, { ...body, top: 4 }, { "Idempotency-Key": "order-42" });
  assert.is(different.status, 422);
  assert.is(different.body.request_id, first.body.id);
  assert.is(await requests().countDocuments({ "params.top": 4, "params.min_votes": 4242 }), 0, "nothing stored for the mismatch");
  assert.is(await requests().countDocuments({ "params.top": 3, "params.min_votes": 4242 }), 1, "one request for the key");
});

test("Idempotency-Key: concurrent retries create one request", async () => {
  const body = { report_name: "top-movies-per-rating", top: 9, min_votes: 11 };
  const responses = await Promise.all(
    Array.from({ length: 8 }, () => post(`${service.url}/v1/reports`, body, { "Idempotency-Key": "burst-1" })),
  );
  assert.is(new Set(responses.map((r) => r.body.id)).size, 1);
  assert.is(await requests().countDocuments({ "params.top": 9, "params.min_votes": 11 }), 1);
});

test("Idempotency-Key: a key recorded without its request is waited for while it may be on its way, forgotten once stale", async () => {
  const body = { report_name: "top-movies-per-rating", top: 9, min_votes: 12 };
  const records = service.context.database.idempotency;
  // The fingerprint the service records for this body, read from a key it recorded itself.
  await post(`${service.url}/v1/reports`, body, { "Idempotency-Key": "probe-1" });
  const print = (await records.findOne({ _id: scopedKey(null, "probe-1") }))!.fingerprint;
  // Recorded a minute ago by a process that died before inserting the request: the key is free again.
  const lost = new ObjectId();
  await records.insertOne({
    _id: scopedKey(null, "lost-1"),
    fingerprint: print,
    request_id: lost,
    created_at: new Date(Date.now() - 60_000),
  });
  const after = await post(`${service.url}/v1/reports`, body, { "Idempotency-Key": "lost-1" });
  assert.is(after.status, 202, JSON.stringify(after.body));
  assert.is.not(after.body.id, String(lost));
  // Recorded just now, its request arriving a moment later (its creator between the two writes): replayed.
  const coming = new ObjectId();
  await records.insertOne({ _id: scopedKey(null, "coming-1"), fingerprint: print, request_id: coming, created_at: new Date() });
  const replay = post(`${service.url}/v1/reports`, body, { "Idempotency-Key": "coming-1" });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await service.context.store.submit(
    { report_name: "top-movies-per-rating", params: { top: 9, min_votes: 12 }, output: "json" },
    new Date(),
    coming,
  );
  const replayed = await replay;
  assert.is(replayed.status, 200, JSON.stringify(replayed.body));
  assert.is(replayed.body.id, String(coming));
  assert.is(replayed.headers.get("idempotent-replayed"), "true");
});

test("an identical request completed recently is reused; Cache-Control: no-cache recomputes", async () => {
  const body = { report_name: "top-directors-per-movie-rating", top: 4, movies: { $gte: 2 } };
  const first = await post(`${service.url}/v1/reports`, body);
  await get(`${service.url}/v1/reports/${first.body.id}?wait=20`);
  const reused = await post(`${service.url}/v1/reports`, body);
  assert.is(reused.status, 200);
  assert.is(reused.body.id, first.body.id);
  assert.is(reused.body.status, "completed");
  assert.is(reused.headers.get("x-reused-result"), "true");
  const fresh = await post(`${service.url}/v1/reports`, body, { "Cache-Control": "no-cache" });
  assert.is(fresh.status, 202);
  assert.is.not(fresh.body.id, first.body.id);
});

test("retention removes finished requests with their rows, and nothing younger or unfinished", async () => {
  const old = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 5, min_votes: 1 });
  await get(`${service.url}/v1/reports/${old.body.id}?wait=20`);
  assert.is(await chunksOf(old.body.id), 5);
  const young = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 5, min_votes: 2 });
  await get(`${service.url}/v1/reports/${young.body.id}?wait=20`);
  const pending = await requests().insertOne({
    report_name: "top-movies-per-rating",
    params: {},
    status: "pending",
    not_before: new Date(Date.now() + 600_000),
  } as any);
  await requests().updateOne({ _id: new ObjectId(old.body.id) }, { $set: { finished_at: new Date(Date.now() - 2 * 3_600_000) } });

  const removed = await purgeExpired({ database: service.context.database, store: service.context.store, retentionMs: 3_600_000 });
  assert.ok(removed >= 1);
  assert.is((await get(`${service.url}/v1/reports/${old.body.id}`)).status, 404);
  assert.is(await chunksOf(old.body.id), 0);
  assert.is((await get(`${service.url}/v1/reports/${young.body.id}`)).body.status, "completed");
  assert.ok(await requests().findOne({ _id: pending.insertedId }), "pending requests are never expired");
});

test.run();
