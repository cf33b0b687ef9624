/**
 * The core loop end to end, against the real driver and a real server process: submit over HTTP,
 * a worker picks the request up from the change stream, rows come back page by page.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";

const test = suite("flow");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("flow");
  service = await startTestService(mongo, { config: { rowsPerChunk: 7 } });
  await loadMflix(service.context.database.db, ["movies"]);
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

test("submit answers 202 with id, links and headers, and only inserts", async () => {
  const response = await post(`${service.url}/v1/reports?page=0&page_size=5`, { report_name: "top-movies-per-rating", top: 3 });
  assert.is(response.status, 202);
  assert.is(response.body.status, "pending");
  assert.is(response.body.report_name, "top-movies-per-rating");
  assert.ok(ObjectId.isValid(response.body.id));
  assert.is(response.headers.get("location"), `/v1/reports/${response.body.id}?page=0&page_size=5`);
  assert.is(response.headers.get("retry-after"), "1");
  assert.ok(!Number.isNaN(Date.parse(response.body.report_date)));
  assert.is(response.body.links.self, `/v1/reports/${response.body.id}?page=0&page_size=5`);
  const stored = await service.context.database.requests.findOne({ _id: new ObjectId(response.body.id) });
  assert.ok(stored, "the request document is stored");
  assert.equal(stored.params, { top: 3 });
});

test("a submitted report completes and every row can be paged through", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", rating: { $gte: 7.5 } });
  const id = submitted.body.id;
  const done = await get(`${service.url}/v1/reports/${id}?wait=20&page=0&page_size=10`);
  assert.is(done.status, 200);
  assert.is(done.body.status, "completed", JSON.stringify(done.body.error));
  const total = done.body.total_rows;
  const direct = await service.context.database.db.collection("movies").countDocuments({ "imdb.rating": { $gte: 7.5 } });
  assert.is(total, direct, "row count equals the matching movies");
  assert.is(done.body.total_pages, Math.ceil(total / 10));
  assert.equal(done.body.columns, ["movie_id", "title", "year", "released", "rating", "votes", "directors", "genres"]);

  // Walk every page by its next link: rows are in order, none missing or repeated.
  const seen: any[] = [];
  let link: string | undefined = `/v1/reports/${id}?page=0&page_size=10`;
  while (link) {
    const page: { status: number; body: any } = await get(`${service.url}${link}`);
    assert.is(page.status, 200);
    assert.ok(page.body.rows.length <= 10);
    seen.push(...page.body.rows);
    link = page.body.links.next;
  }
  assert.is(seen.length, total);
  assert.is(new Set(seen.map((r) => r.movie_id)).size, total);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].rating >= seen[i].rating, `sorted at ${i}`);

  // A page size that is not a multiple of the chunk size reads across chunk boundaries.
  const odd = await get(`${service.url}/v1/reports/${id}?page=3&page_size=9`);
  assert.equal(odd.body.rows, seen.slice(27, 36));
  const past = await get(`${service.url}/v1/reports/${id}?page=${done.body.total_pages + 5}&page_size=10`);
  assert.equal(past.body.rows, []);
});

test("wait= returns as soon as the report completes, not at the end of the wait", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-directors-per-movie-rating", top: 5 });
  const started = Date.now();
  const done = await get(`${service.url}/v1/reports/${submitted.body.id}?wait=25`);
  const elapsed = Date.now() - started;
  assert.is(done.body.status, "completed");
  assert.ok(elapsed < 15_000, `returned after ${elapsed} ms of a 25 s wait`);
  assert.is(done.body.rows.length, 5);
});

test("wait= on a request that stays pending returns after the wait with its status", async () => {
  // No worker can take this one: it is scheduled for later.
  const { insertedId } = await service.context.database.requests.insertOne({
    report_name: "top-movies-per-rating",
    params: {},
    status: "pending",
    not_before: new Date(Date.now() + 600_000),
  } as any);
  const started = Date.now();
  const response = await get(`${service.url}/v1/reports/${insertedId}?wait=1`);
  assert.ok(Date.now() - started >= 900);
  assert.is(response.body.status, "pending");
  assert.is(response.headers.get("retry-after"), "1");
});

test("a held submission (POST ?wait=) answers 201 with the final document and its first page of rows", async () => {
  const response = await post(`${service.url}/v1/reports?wait=25&page=0&page_size=2`, {
    report_name: "top-directors-per-movie-rating",
    top: 6,
  });
  assert.is(response.status, 201, JSON.stringify(response.body));
  assert.is(response.body.status, "completed");
  assert.is(response.headers.get("preference-applied"), "wait=25");
  assert.is(response.headers.get("retry-after"), null, "final: nothing to poll for");
  assert.is(response.headers.get("location"), `/v1/reports/${response.body.id}?page=0&page_size=2`);
  assert.is(response.body.total_rows, 6);
  assert.is(response.body.rows.length, 2, "the page asked for");
  assert.is(response.body.links.status, `/v1/reports/${response.body.id}`);
  const read = await get(`${service.url}/v1/reports/${response.body.id}?page=0&page_size=2`);
  assert.equal(response.body.rows, read.body.rows, "the same rows a read gives");
});

test("a Mongo-native insert is processed like an API request", async () => {
  const { insertedId } = await service.context.database.requests.insertOne({
    report_name: "top-movies-per-rating",
    params: { top: 4, released: { $gte: "1940", $lte: "1949" } },
    status: "pending",
  } as any);
  const done = await get(`${service.url}/v1/reports/${insertedId}?wait=20`);
  assert.is(done.body.status, "completed", JSON.stringify(done.body.error));
  assert.is(done.body.rows.length, 4);
  for (const row of done.body.rows) {
    const year = new Date(row.released).getUTCFullYear();
    assert.ok(year >= 1940 && year <= 1949, `released ${row.released}`);
  }
  const stored = await service.context.database.requests.findOne({ _id: insertedId });
  assert.ok(stored!.report_date instanceof Date, "report_date filled in");
  assert.is(stored!.output, "json");
});

test("bad Mongo-native inserts end in error with the reason, and the worker keeps going", async () => {
  const requests = service.context.database.requests;
  const bad = [
    { doc: { report_name: "no-such-report", params: {}, status: "pending" }, code: "unknown_report", mentions: "no-such-report" },
    {
      doc: { report_name: "top-movies-per-rating", params: { rating: { $where: "sleep(1000)" } }, status: "pending" },
      code: "validation",
      mentions: "$where",
    },
    {
      doc: { report_name: "top-movies-per-rating", params: { top: "ten" }, status: "pending" },
      code: "validation",
      mentions: "params.top",
    },
    { doc: { report_name: "top-movies-per-rating", params: "not an object", status: "pending" }, code: "validation", mentions: "params" },
    { doc: { params: {}, status: "pending" }, code: "validation", mentions: "report_name" },
    { doc: { report_name: 42, status: "pending" }, code: "validation", mentions: "report_name" },
  ];
  const ids = [];
  for (const { doc } of bad) ids.push((await requests.insertOne(doc as any)).insertedId);
  for (const [i, id] of ids.entries()) {
    const doc = await eventually(async () => {
      const d = await requests.findOne({ _id: id });
      return d && d.status !== "pending" && d.status !== "running" ? d : undefined;
    }, 20_000);
    assert.is(doc.status, "error", `case ${i}`);
    assert.is(doc.error!.code, bad[i].code, `case ${i}: ${doc.error!.message}`);
    assert.ok(doc.error!.message.includes(bad[i].mentions), `case ${i}: "${doc.error!.message}" should mention ${bad[i].mentions}`);
    assert.is(doc.attempts, 1, "bad input is not retried");
  }
  // Still alive: a good request after the bad ones completes.
  const good = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 1 });
  const done = await get(`${service.url}/v1/reports/${good.body.id}?wait=20`);
  assert.is(done.body.status, "completed");
});

test("a failed request's status shows its error", async () => {
  const { insertedId } = await service.context.database.requests.insertOne({ report_name: "nope", params: {}, status: "pending" } as any);
  const response = await get(`${service.url}/v1/reports/${insertedId}?wait=20`);
  assert.is(response.status, 200);
  assert.is(response.body.status, "error");
  assert.is(response.body.error.code, "unknown_report");
  assert.ok(Array.isArray(response.body.error.details.available));
});

test.run();
