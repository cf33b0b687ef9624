/**
 * Every bad input to the API gets its exact status and an RFC 9457 problem body, and nothing is
 * stored. No worker runs here: these requests must be refused before anything is queued.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post, request, type JsonResponse } from "../support/http.ts";

const test = suite("api");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("api");
  service = await startTestService(mongo, { worker: false, config: { pageSizeMax: 100, waitMaxSeconds: 5 } });
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

function assertProblem(response: JsonResponse, status: number, type: string): void {
  assert.is(response.status, status, JSON.stringify(response.body));
  assert.ok(response.headers.get("content-type")?.startsWith("application/problem+json"), String(response.headers.get("content-type")));
  assert.is(response.body.status, status);
  assert.is(response.body.type, `https://mongo-reports.dev/problems/${type}`);
  assert.type(response.body.title, "string");
  assert.type(response.body.detail, "string");
}

async function storedRequests(): Promise<number> {
  return service.context.database.requests.countDocuments({});
}

test("a typo of a report name: 404 with the nearest name; an alias route offers only what answers there", async () => {
  const typo = await post(`${service.url}/v1/reports`, { report_name: "top-director-per-comment" });
  assertProblem(typo, 404, "unknown-report");
  assert.is(typo.body.did_you_mean, "top-directors-per-comment");
  assert.match(typo.body.detail, /did you mean "top-directors-per-comment"\?/);
  const route = await post(`${service.url}/v1/movies/director-per-comments`, {});
  assertProblem(route, 404, "unknown-report");
  assert.ok(route.body.available.includes("directors-per-comments"), JSON.stringify(route.body.available));
  assert.ok(route.body.available.includes("top-movies-per-rating"));
  assert.not.ok(route.body.available.includes("top-directors-per-comment"), "POST /v1/movies/top-directors-per-comment is no route");
  assert.is(route.body.did_you_mean, "directors-per-comments");
  const far = await post(`${service.url}/v1/reports`, { report_name: "sales-by-region" });
  assert.is(far.body.did_you_mean, undefined, "no guess for a name far from every report");
  assert.is(await storedRequests(), 0);
});

test("unknown report: 404 listing the available names", async () => {
  const response = await post(`${service.url}/v1/reports`, { report_name: "top-everything" });
  assertProblem(response, 404, "unknown-report");
  assert.ok(response.body.detail.includes("top-everything"));
  assert.ok(response.body.available.includes("top-directors-per-comment"));
  assert.ok(response.body.available.includes("top-movies-per-rating"));
  assert.ok(response.body.available.includes("top-directors-per-movie-rating"));
});

test("missing report_name: 400 naming the field", async () => {
  const response = await post(`${service.url}/v1/reports`, { top: 3 });
  assertProblem(response, 400, "invalid-parameters");
  assert.equal(
    response.body.errors.map((e: any) => e.field),
    ["report_name"],
  );
});

const invalidFilters: [string, Record<string, unknown>, string, string][] = [
  ["wrong type", { top: "ten" }, "top", "integer"],
  ["unknown filter", { colour: "red" }, "colour", "unknown field"],
  ["$where inside a range", { rating: { $gt: 7, $where: "sleep(100)" } }, "rating.$where", "unknown field"],
  ["$expr at top level", { $expr: { $gt: ["$a", 1] } }, "$expr", "unknown field"],
  ["operator object instead of a number", { rating: { $gt: { $function: "x" } } }, "rating.$gt", "number"],
  ["operator inside a list", { directors: { include: [{ $ne: null }] } }, "directors.include.0", "string"],
  ["unknown list key", { actors: { only: ["A"] } }, "actors.only", "unknown field"],
  ["empty range", { rating: {} }, "rating", "at least one"],
  ["both $gt and $gte", { rating: { $gt: 1, $gte: 2 } }, "rating", "not both"],
  ["bad year", { released: { $gt: "19x0" } }, "released.$gt", "date"],
  ["impossible date", { released: { $lt: "2020-02-31" } }, "released.$lt", "date that exists"],
  ["dotted key", { "imdb.rating": 5 }, "imdb.rating", "unknown field"],
  ["constructor key", { constructor: { prototype: { polluted: true } } }, "constructor", "unknown field"],
  ["top out of range", { top: 0 }, "top", "0"],
];

for (const [name, filters, field, fragment] of invalidFilters) {
  test(`invalid filter (${name}): 400 naming ${field}`, async () => {
    const before = await storedRequests();
    const response = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", ...filters });
    assertProblem(response, 400, "invalid-parameters");
    const error = response.body.errors.find((e: any) => e.field === field);
    assert.ok(error, `errors ${JSON.stringify(response.body.errors)} should name ${field}`);
    assert.ok(error.message.toLowerCase().includes(fragment.toLowerCase()), `"${error.message}" should mention ${fragment}`);
    assert.is(await storedRequests(), before, "nothing stored");
    assert.is(({} as any).polluted, undefined, "no prototype pollution");
  });
}

test("a __proto__ key anywhere: 400, and nothing is polluted or stored", async () => {
  const before = await storedRequests();
  for (const body of [
    '{"report_name":"top-movies-per-rating","__proto__":{"polluted":true}}',
    '{"report_name":"top-movies-per-rating","rating":{"__proto__":{"$gt":1}}}',
  ]) {
    const response = await request(`${service.url}/v1/reports`, { method: "POST", body, headers: { "content-type": "application/json" } });
    assertProblem(response, 400, "bad-request");
    assert.ok(response.body.detail.includes("prototype"), response.body.detail);
  }
  assert.is(({} as any).polluted, undefined);
  assert.is(await storedRequests(), before);
});

test("malformed JSON: 400", async () => {
  const response = await request(`${service.url}/v1/reports`, {
    method: "POST",
    body: '{"report_name": "top-movies-per-rating",',
    headers: { "content-type": "application/json" },
  });
  assertProblem(response, 400, "bad-request");
  assert.ok(response.body.detail.includes("not valid JSON"));
});

test("a JSON body that is not an object: 400", async () => {
  for (const body of ["[1,2]", '"text"', "42", "null"]) {
    const response = await request(`${service.url}/v1/reports`, { method: "POST", body, headers: { "content-type": "application/json" } });
    assert.is(response.status, 400, body);
    assert.ok(response.headers.get("content-type")?.startsWith("application/problem+json"), String(response.headers.get("content-type")));
  }
});

test("a body that is not JSON: 415", async () => {
  const response = await request(`${service.url}/v1/reports`, {
    method: "POST",
    body: "report_name=top-movies-per-rating",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assertProblem(response, 415, "unsupported-media-type");
});

test("an oversized body: 413", async () => {
  const response = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", pad: "x".repeat(200_000) });
  assertProblem(response, 413, "payload-too-large");
});

test("unsupported output: 400", async () => {
  const response = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", output: "xml" });
  assertProblem(response, 400, "invalid-parameters");
  assert.is(response.body.errors[0].field, "output");
});

test("malformed id: 400; unknown id: 404", async () => {
  assertProblem(await get(`${service.url}/v1/reports/not-an-id`), 400, "invalid-id");
  assertProblem(await get(`${service.url}/v1/reports/${"a".repeat(25)}`), 400, "invalid-id");
  assertProblem(await get(`${service.url}/v1/reports/${"a".repeat(24)}`), 404, "report-not-found");
});

test("page_size above the cap, negative or non-numeric page, wait above the cap: 400", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" });
  const base = `${service.url}/v1/reports/${submitted.body.id}`;
  for (const query of ["page_size=101", "page_size=0", "page=-1", "page=abc", "page=1.5", "wait=6", "wait=x", "page=1&page=2"]) {
    const response = await get(`${base}?${query}`);
    assertProblem(response, 400, "invalid-query");
  }
  assert.is((await get(`${base}?page_size=100&page=0`)).status, 200);
});

test("the design document's per-collection alias submits like the generic route", async () => {
  const response = await post(`${service.url}/v1/movies/top-movies-per-rating`, { top: 2 });
  assert.is(response.status, 202);
  assert.is(response.body.report_name, "top-movies-per-rating");
  const wrong = await post(`${service.url}/v1/comments/top-movies-per-rating`, {});
  assertProblem(wrong, 404, "unknown-report");
  assert.ok(wrong.body.available.includes("top-directors-per-comment"));
  assert.not.ok(wrong.body.available.includes("top-movies-per-rating"));
});

test("unknown routes and methods are problems too", async () => {
  assertProblem(await get(`${service.url}/v2/nothing`), 404, "not-found");
  const response = await request(`${service.url}/v1/reports`, { method: "PUT" });
  assertProblem(response, 405, "method-not-allowed");
});

test("date filters are normalised before they are stored: years mean whole years", async () => {
  const response = await post(`${service.url}/v1/reports`, {
    report_name: "top-directors-per-comment",
    comment_date: { $gt: "1990", $lt: 2021 },
    released: { $gte: "1995-06-01", $lte: "2000" },
  });
  assert.is(response.status, 202);
  assert.equal(response.body.params.comment_date, { $gte: "1991-01-01T00:00:00.000Z", $lt: "2021-01-01T00:00:00.000Z" });
  assert.equal(response.body.params.released, { $gte: "1995-06-01T00:00:00.000Z", $lt: "2001-01-01T00:00:00.000Z" });
});

test("health and readiness", async () => {
  assert.equal((await get(`${service.url}/healthz`)).body, { status: "ok" });
  assert.equal((await get(`${service.url}/readyz`)).body, { status: "ready" });
});

test.run();
