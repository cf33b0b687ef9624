/**
 * Server-sent events (GET /v1/reports/:id/events) against the real service: a client follows a
 * request from pending to completed with progress in between, a reconnect with Last-Event-ID
 * gets exactly what it missed, and a client that leaves stops being followed.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { startTestService } from "../support/service.ts";
import { eventually, get, post } from "../support/http.ts";
import { openEventStream, readEvents } from "../support/sse.ts";
import { openGate } from "../support/gate.ts";
import { useWorkerlessService } from "../support/workerless-service.ts";
import { as, namedKeys } from "../support/keys.ts";

const test = suite("events");
// No worker yet: each test starts one once its client is listening, so the client sees every
// transition live. gated-rows runs until the test closes its gate, so the client sees progress
// however fast or slow the machine is.
const env = useWorkerlessService(test, {
  label: "events",
  movies: 2000,
  config: { rowsPerChunk: 1, progressIntervalMs: 200, sseHeartbeatMs: 300 },
});

test("a client sees pending → running → completed in order, with progress in between", async () => {
  const gate = await openGate(env.service.context.database.db);
  const submitted = await post(`${env.service.url}/v1/reports`, { report_name: "gated-rows", ...gate.params });
  assert.is(submitted.status, 202);
  const stream = await openEventStream(`${env.service.url}/v1/reports/${submitted.body.id}/events`);
  assert.is(stream.status, 200);
  assert.ok(stream.headers.get("content-type")?.startsWith("text/event-stream"));
  assert.is(stream.headers.get("cache-control"), "no-cache, no-transform");
  const first = await readEvents(stream, () => true);
  assert.equal(
    first.map((e) => [e.event, e.id, e.data.status]),
    [["status", "0.2", "pending"]],
  );
  assert.is(first[0].data.progress.phase, "queued");
  env.startWorker();
  // Rows go through the gate in three steps, each once the client has seen the previous one's
  // rows: three progress events with growing counts, however long each step takes.
  const events = [...first];
  const rowsSeen = (rows: number) => (e: { event?: string; data: any }) => e.event === "progress" && e.data.rows >= rows;
  for (const total of [5, 10, 15]) {
    await gate.pass(5);
    events.push(...(await readEvents(stream, rowsSeen(total), 120_000)));
  }
  await gate.close();
  events.push(...(await readEvents(stream, undefined, 120_000)));
  const statuses = events.filter((e) => e.event === "status");
  assert.equal(
    statuses.map((e) => [e.id, e.data.status, e.data.replayed ?? false]),
    [
      ["0.2", "pending", false],
      ["1.1", "running", false],
      ["1.3", "completed", false],
    ],
  );
  assert.is(statuses[2].data.finished_at !== undefined, true, "the final event carries the whole status body");
  const runningAt = events.indexOf(statuses[1]);
  const completedAt = events.indexOf(statuses[2]);
  const progress = events.filter((e) => e.event === "progress");
  assert.ok(progress.length >= 3, `progress events while running: ${progress.length}`);
  for (const p of progress) {
    const at = events.indexOf(p);
    assert.ok(at > runningAt && at < completedAt, "progress only between running and completed");
    assert.ok(["aggregating", "writing"].includes(p.data.phase), p.data.phase);
    assert.is(p.data.id, submitted.body.id);
    assert.type(p.data.phase_ms, "number");
  }
  const rows = progress.map((p) => p.data.rows);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i] >= rows[i - 1], `rows never shrink: ${rows.join(", ")}`);
  for (const total of [5, 10]) assert.ok(rows.includes(total), `a progress event with ${total} rows: ${rows.join(", ")}`);
  const done = await get(`${env.service.url}/v1/reports/${submitted.body.id}?page=0&page_size=100`);
  // The gate's end (the stream's invalidate event) may come as one more row, without a title.
  assert.equal(
    done.body.rows.map((r: { title?: string }) => r.title).filter(Boolean),
    Array.from({ length: 15 }, (_, i) => `row ${i + 1}`),
    "every row let through, and no more",
  );
  assert.ok(completedAt === events.length - 1, "the stream ends after the final status");
  assert.ok(stream.comments.includes("heartbeat"), "heartbeat comments while the stream is open");
  assert.is(env.service.api.watch.followers, 0, "a finished stream is followed no more");
});

test("a reconnect with Last-Event-ID misses no transition; after the final one it gets 204", async () => {
  const submitted = await post(`${env.service.url}/v1/reports`, { report_name: "every-movie" });
  const url = `${env.service.url}/v1/reports/${submitted.body.id}/events`;
  const stream = await openEventStream(url);
  const [pending] = await readEvents(stream, () => true);
  assert.is(pending.id, "0.2");
  stream.close();
  // The server notices the disconnect and stops following the request.
  await eventually(async () => (env.service.api.watch.followers === 0 ? true : undefined), 5000);

  env.startWorker();
  const done = await get(`${env.service.url}/v1/reports/${submitted.body.id}?wait=30`);
  assert.is(done.body.status, "completed");

  const resumed = await openEventStream(url, { "Last-Event-ID": pending.id! });
  const missed = await readEvents(resumed);
  assert.equal(
    missed.map((e) => [e.event, e.id, e.data.status]),
    [
      ["status", "1.1", "running"],
      ["status", "1.3", "completed"],
    ],
  );
  assert.is(missed[0].data.replayed, true, "a transition rebuilt from the document says so");
  assert.is(missed[1].data.result ?? missed[1].data.finished_at !== undefined, true);

  const after = await openEventStream(url, { "Last-Event-ID": "1.3" });
  assert.is(after.status, 204, "EventSource stops reconnecting on 204");
  // Without Last-Event-ID a new client gets the whole story, then the end.
  const fresh = await readEvents(await openEventStream(url));
  assert.equal(
    fresh.map((e) => e.id),
    ["0.2", "1.1", "1.3"],
  );
});

test("unknown or malformed ids: problem+json 404 / 400", async () => {
  const missing = await get(`${env.service.url}/v1/reports/0123456789abcdef01234567/events`);
  assert.is(missing.status, 404);
  assert.is(missing.headers.get("content-type"), "application/problem+json");
  assert.is((await get(`${env.service.url}/v1/reports/nope/events`)).status, 400);
});

test("owner-scoped like the other routes: another key gets 404, the owner its stream", async () => {
  const keyed = await startTestService(
    { ...env.mongo, dbName: `${env.mongo.dbName}_keys` },
    { worker: false, config: { apiKeys: namedKeys("alice", "bob") } },
  );
  try {
    const mine = await post(`${keyed.url}/v1/reports`, { report_name: "top-movies-per-rating" }, as("alice"));
    assert.is(mine.status, 202);
    const url = `${keyed.url}/v1/reports/${mine.body.id}/events`;
    assert.is((await get(url)).status, 401);
    assert.is((await get(url, as("bob"))).status, 404);
    const stream = await openEventStream(url, as("alice"));
    assert.is(stream.status, 200);
    const [first] = await readEvents(stream, () => true);
    assert.equal([first.event, first.data.status], ["status", "pending"]);
    stream.close();
  } finally {
    await keyed.close();
  }
});

test("MAX_STREAMS_PER_KEY caps the streams one key holds open (429 too-many-streams); a closed one frees its slot; STREAM_MAX_S ends a stream", async () => {
  const capped = await startTestService(
    { ...env.mongo, dbName: `${env.mongo.dbName}_caps` },
    { worker: false, config: { maxStreamsPerKey: 2, streamMaxMs: 1_000, apiKeys: namedKeys("carol", "dave") } },
  );
  try {
    const submitted = await post(`${capped.url}/v1/reports`, { report_name: "top-movies-per-rating" }, as("carol"));
    const url = `${capped.url}/v1/reports/${submitted.body.id}/events`;
    const first = await openEventStream(url, as("carol"));
    const second = await openEventStream(url, as("carol"));
    assert.is(first.status, 200);
    assert.is(second.status, 200);
    const over = await get(url, as("carol"));
    assert.is(over.status, 429);
    assert.is(over.headers.get("content-type"), "application/problem+json");
    assert.is(over.body.type, "https://mongo-reports.dev/problems/too-many-streams");
    assert.is(over.body.limit, 2);
    assert.is((await get(url, as("dave"))).status, 404, "another key has its own slots (and no access)");
    // The request stays pending (no worker), yet STREAM_MAX_S ends both streams and frees their slots.
    let gaveUp = false;
    const giveUp = setTimeout(() => {
      gaveUp = true;
      first.close();
      second.close();
    }, 60_000);
    await Promise.all([readEvents(first), readEvents(second)]);
    clearTimeout(giveUp);
    assert.not.ok(gaveUp, "the server never ended the streams");
    const again = await openEventStream(url, as("carol"));
    assert.is(again.status, 200);
    again.close();
  } finally {
    await capped.close();
  }
});

test.run();
