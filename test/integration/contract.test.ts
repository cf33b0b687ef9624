/**
 * Every response the API sends matches its own /openapi.json: the API is driven through its real
 * cases (success, each error status, each request state, json/csv/both outputs, with and without
 * API keys) and each response's status, content type and body are validated against the
 * document (see test/support/contract.ts). A route or a field added without its declaration fails here.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { ObjectId } from "mongodb";
import { storedFilesOf } from "../../src/results/locations.ts";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { ContractChecker } from "../support/contract.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post, request, type JsonResponse } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

const test = suite("contract: responses match /openapi.json");
let mongo: TestMongo;
let open: TestService;
let keyed: TestService;
let contract: ContractChecker;

test.before(async () => {
  mongo = await startTestMongo("contract");
  open = await startTestService(mongo, { config: { waitMaxSeconds: 20 } });
  await loadMflix(open.context.database.db, ["movies"]);
  keyed = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_keys` },
    {
      worker: false,
      config: {
        apiKeys: parseApiKeys(`alice:${sha256("alice")},reader:${sha256("reader")}:read,ops:${sha256("ops")}:admin,busy:${sha256("busy")}`),
        rateLimitPerMinute: 3,
      },
    },
  );
  const document = await get(`${open.url}/openapi.json`);
  contract = new ContractChecker(document.body);
  contract.check("GET", "/openapi.json", document);
});

test.after(async () => {
  await keyed?.close();
  await open?.close();
  await mongo?.stop();
});

/** Sends, checks against the document, returns the response for the test's own assertions. */
async function call(
  method: string,
  documentPath: string,
  url: string,
  init: { json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const response = await request(url, { method, ...init });
  contract.check(method, documentPath, response);
  return response;
}

const json = { "content-type": "application/json" };

test("health, discovery and the documentation page", async () => {
  const u = open.url;
  assert.is((await call("GET", "/healthz", `${u}/healthz`)).status, 200);
  assert.is((await call("GET", "/readyz", `${u}/readyz`)).status, 200);
  assert.is((await call("GET", "/docs", `${u}/docs`)).status, 200);
  assert.is((await call("GET", "/v1/report-definitions", `${u}/v1/report-definitions`)).status, 200);
  const name = "/v1/report-definitions/{name}";
  assert.is((await call("GET", name, `${u}/v1/report-definitions/top-movies-per-rating`)).status, 200);
  assert.is((await call("GET", name, `${u}/v1/report-definitions/no-such-report`)).status, 404);
});

test("report definition checks: valid, invalid (422 lists every reason), not an object, not JSON", async () => {
  const url = `${open.url}/v1/report-definition-checks`;
  const path = "/v1/report-definition-checks";
  const base = {
    collection: "movies",
    description: "test",
    parameters: { type: "object", properties: { min_votes: { type: "integer" } } },
    columns: [{ name: "title" }],
  };
  const valid = await call("POST", path, url, {
    json: { ...base, name: "ok", pipeline: [{ $match: { "imdb.votes": { $gte: { $param: "min_votes" } } } }] },
  });
  assert.is(valid.status, 200);
  const invalid = await call("POST", path, url, { json: { ...base, name: "bad", pipeline: [{ $out: "stolen" }] } });
  assert.is(invalid.status, 422);
  assert.ok(invalid.body.errors.length >= 1);
  assert.is((await call("POST", path, url, { body: "[1]", headers: json })).status, 400);
  assert.is((await call("POST", path, url, { body: "{", headers: json })).status, 400);
});

test("submitting: 202, 200 (reused and replayed), and every refusal", async () => {
  const url = `${open.url}/v1/reports`;
  const path = "/v1/reports";
  const first = await call("POST", path, `${url}?page=0&page_size=5`, { json: { report_name: "top-movies-per-rating", top: 4 } });
  assert.is(first.status, 202);
  await get(`${open.url}/v1/reports/${first.body.id}?wait=20`);
  const reused = await call("POST", path, url, { json: { report_name: "top-movies-per-rating", top: 4 } });
  assert.is(reused.status, 200);
  assert.is(reused.headers.get("x-reused-result"), "true");
  const keyedBody = { report_name: "top-movies-per-rating", top: 5 };
  assert.is((await call("POST", path, url, { json: keyedBody, headers: { "Idempotency-Key": "k-1" } })).status, 202);
  assert.is((await call("POST", path, url, { json: keyedBody, headers: { "Idempotency-Key": "k-1" } })).status, 200);
  assert.is((await call("POST", path, url, { json: { ...keyedBody, top: 6 }, headers: { "Idempotency-Key": "k-1" } })).status, 422);
  assert.is((await call("POST", path, url, { json: keyedBody, headers: { "Idempotency-Key": "x".repeat(256) } })).status, 400);
  assert.is((await call("POST", path, url, { json: { report_name: "top-movies-per-rating", top: "ten" } })).status, 400);
  assert.is((await call("POST", path, url, { json: { top: 1 } })).status, 400);
  assert.is((await call("POST", path, `${url}?page_size=0`, { json: keyedBody })).status, 400);
  assert.is((await call("POST", path, url, { json: { report_name: "no-such-report" } })).status, 404);
  assert.is((await call("POST", path, url, { body: "[]", headers: json })).status, 400);
  assert.is((await call("POST", path, url, { body: '{"a":', headers: json })).status, 400);
  const form = { "content-type": "application/x-www-form-urlencoded" };
  assert.is((await call("POST", path, url, { body: "report_name=x", headers: form })).status, 415);
  assert.is((await call("POST", path, url, { json: { report_name: "top-movies-per-rating", pad: "x".repeat(200_000) } })).status, 413);
});

test("the per-collection alias: each report's own path, and the template's 404", async () => {
  const alias = "/v1/movies/top-movies-per-rating";
  assert.is((await call("POST", alias, `${open.url}${alias}`, { json: { top: 2 } })).status, 202);
  const wrong = await call("POST", "/v1/{collection}/{report_name}", `${open.url}/v1/comments/top-movies-per-rating`, { json: {} });
  assert.is(wrong.status, 404);
});

test("every request state and output: pending, running, completed (json, csv, both), error, cancelled", async () => {
  const requests = open.context.database.requests;
  const status = "/v1/reports/{id}";
  const read = (id: unknown, query = "") => call("GET", status, `${open.url}/v1/reports/${id}${query}`);
  // Inserted the Mongo-native way, with only what such a writer must give; not due for a minute.
  const { insertedId: pending } = await requests.insertOne({
    report_name: "top-movies-per-rating",
    params: {},
    status: "pending",
    not_before: new Date(Date.now() + 60_000),
  } as any);
  assert.is((await read(pending)).body.status, "pending");
  // A running request as a worker leaves it: claimed, leased, started.
  const { insertedId: running } = await requests.insertOne({
    report_name: "top-movies-per-rating",
    params: {},
    output: "json",
    status: "running",
    report_date: new Date(),
    attempts: 1,
    lease: { owner: "elsewhere", until: new Date(Date.now() + 600_000) },
    started_at: new Date(),
  } as any);
  assert.is((await read(running)).body.status, "running");
  for (const output of ["json", "csv", "both"]) {
    const submitted = await post(`${open.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 7, output });
    const done = await read(submitted.body.id, "?wait=20&page=1&page_size=3");
    assert.is(done.body.status, "completed", output);
    const csv = await call("GET", "/v1/reports/{id}/csv", `${open.url}/v1/reports/${submitted.body.id}/csv`);
    assert.is(csv.status, output === "json" ? 409 : 200, output);
  }
  const failed = await requests.insertOne({ report_name: "top-movies-per-rating", params: { top: -1 }, status: "pending" } as any);
  const errored = await read(failed.insertedId, "?wait=20");
  assert.is(errored.body.status, "error");
  const cancelled = await call("POST", "/v1/reports/{id}/cancel", `${open.url}/v1/reports/${pending}/cancel`);
  assert.is(cancelled.body.status, "cancelled");
  assert.is((await read(pending)).body.status, "cancelled");
  assert.is((await call("POST", "/v1/reports/{id}/cancel", `${open.url}/v1/reports/${failed.insertedId}/cancel`)).status, 409);
  const list = await call("GET", "/v1/reports", `${open.url}/v1/reports?limit=2`);
  assert.is(list.body.items.length, 2);
});

test("reading refusals: bad id, bad query, unknown id, CSV not ready, CSV gone", async () => {
  const u = open.url;
  assert.is((await call("GET", "/v1/reports/{id}", `${u}/v1/reports/not-an-id`)).status, 400);
  assert.is((await call("GET", "/v1/reports/{id}", `${u}/v1/reports/${"a".repeat(24)}?page_size=0`)).status, 400);
  assert.is((await call("GET", "/v1/reports/{id}", `${u}/v1/reports/${"a".repeat(24)}`)).status, 404);
  assert.is((await call("GET", "/v1/reports/{id}/csv", `${u}/v1/reports/nope/csv`)).status, 400);
  assert.is((await call("GET", "/v1/reports/{id}/csv", `${u}/v1/reports/${"a".repeat(24)}/csv`)).status, 404);
  assert.is((await call("GET", "/v1/reports", `${u}/v1/reports?limit=0`)).status, 400);
  const { insertedId } = await open.context.database.requests.insertOne({
    report_name: "top-movies-per-rating",
    params: {},
    status: "pending",
    not_before: new Date(Date.now() + 60_000),
  } as any);
  assert.is((await call("GET", "/v1/reports/{id}/csv", `${u}/v1/reports/${insertedId}/csv`)).status, 409);
  const submitted = await post(`${u}/v1/reports`, { report_name: "top-movies-per-rating", top: 8, output: "csv" });
  await get(`${u}/v1/reports/${submitted.body.id}?wait=20`);
  const doc = await open.context.database.requests.findOne({ _id: new ObjectId(submitted.body.id) });
  const [file] = storedFilesOf(doc!);
  assert.ok(file && (await open.context.csvSink.remove(file)), "the CSV file was there and is gone");
  assert.is((await call("GET", "/v1/reports/{id}/csv", `${u}/v1/reports/${submitted.body.id}/csv`)).status, 410);
  assert.is((await call("DELETE", "/v1/reports/{id}", `${u}/v1/reports/${submitted.body.id}`)).status, 204);
  assert.is((await call("DELETE", "/v1/reports/{id}", `${u}/v1/reports/${submitted.body.id}`)).status, 404);
});

test("methods a path does not have: 405 with Allow; unknown paths: 404", async () => {
  for (const method of ["PATCH", "PUT"]) {
    const response = await request(`${open.url}/v1/reports/${"a".repeat(24)}`, { method });
    assert.is(response.status, 405, method);
    assert.is(response.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
    contract.component("Problem.method-not-allowed", response.body);
  }
  // fetch refuses to send TRACE; node:http does not.
  const trace = await new Promise<{ status: number; allow: string; body: unknown }>((resolve, reject) => {
    const sent = httpRequest(`${open.url}/v1/reports`, { method: "TRACE" }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, allow: String(response.headers.allow), body: JSON.parse(text) }));
    });
    sent.on("error", reject);
    sent.end();
  });
  assert.is(trace.status, 405);
  assert.is(trace.allow, "GET, HEAD, OPTIONS, POST");
  contract.component("Problem.method-not-allowed", trace.body);
  const options = await request(`${open.url}/v1/reports`, { method: "OPTIONS" });
  assert.is(options.status, 204);
  assert.is(options.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  const missing = await get(`${open.url}/v2/nothing`);
  assert.is(missing.status, 404);
  contract.component("Problem.not-found", missing.body);
});

test("with API keys: 401 without a key, 403 without the scope, 429 past the limit; admin sees every request", async () => {
  const u = keyed.url;
  const body = { json: { report_name: "top-movies-per-rating" } };
  assert.is((await call("POST", "/v1/reports", `${u}/v1/reports`, body)).status, 401);
  const forbidden = await call("POST", "/v1/reports", `${u}/v1/reports`, { ...body, headers: auth("reader") });
  assert.is(forbidden.status, 403);
  assert.is(forbidden.body.scope, "submit");
  const mine = await call("POST", "/v1/reports", `${u}/v1/reports`, { ...body, headers: auth("alice") });
  assert.is(mine.status, 202);
  assert.is((await call("GET", "/v1/reports/{id}", `${u}/v1/reports/${mine.body.id}`, { headers: auth("reader") })).status, 404);
  assert.is((await call("GET", "/v1/reports/{id}", `${u}/v1/reports/${mine.body.id}`, { headers: auth("ops") })).status, 200);
  const list = await call("GET", "/v1/reports", `${u}/v1/reports`, { headers: auth("ops") });
  assert.equal(
    list.body.items.map((item: { id: string }) => item.id),
    [mine.body.id],
  );
  for (let i = 0; i < 3; i++) await get(`${u}/v1/reports/${"c".repeat(24)}`, auth("busy"));
  const limited = await call("GET", "/v1/reports/{id}", `${u}/v1/reports/${"c".repeat(24)}`, { headers: auth("busy") });
  assert.is(limited.status, 429);
});

test("event streams, metrics and callback URLs: a finished request's stream, 204 after its end, refusals", async () => {
  const u = open.url;
  const submitted = await post(`${u}/v1/reports`, { report_name: "top-movies-per-rating", top: 3 });
  assert.is((await get(`${u}/v1/reports/${submitted.body.id}?wait=20`)).body.status, "completed");
  const events = "/v1/reports/{id}/events";
  const stream = await call("GET", events, `${u}/v1/reports/${submitted.body.id}/events`);
  assert.is(stream.status, 200);
  assert.match(stream.body, /event: status\nid: 1\.3\ndata: \{/);
  const ended = await call("GET", events, `${u}/v1/reports/${submitted.body.id}/events`, { headers: { "Last-Event-ID": "1.3" } });
  assert.is(ended.status, 204);
  assert.is((await call("GET", events, `${u}/v1/reports/not-an-id/events`)).status, 400);
  assert.is((await call("GET", events, `${u}/v1/reports/${"b".repeat(24)}/events`)).status, 404);
  assert.is((await call("GET", "/metrics", `${u}/metrics`)).status, 200);
  // With access control on, metrics need the admin scope: checked against that deployment's own document.
  const keyedContract = new ContractChecker((await get(`${keyed.url}/openapi.json`)).body);
  for (const [headers, status] of [
    [{}, 401],
    [auth("reader"), 403],
    [auth("ops"), 200],
  ] as const) {
    const response = await request(`${keyed.url}/metrics`, { headers });
    keyedContract.check("GET", "/metrics", response);
    assert.is(response.status, status);
  }
  // This deployment has no WEBHOOK_SECRET: every callback_url is refused, naming the field.
  const refused = await call("POST", "/v1/reports", `${u}/v1/reports`, {
    json: { report_name: "top-movies-per-rating", callback_url: "https://example.com/hook" },
  });
  assert.is(refused.status, 400);
  assert.is(refused.body.errors[0].field, "callback_url");
});

test("schedules: create, list, read, change, pause, resume, delete, and their refusals", async () => {
  const u = open.url;
  const one = "/v1/schedules/{id}";
  const body = { cron: "0 8 * * 1", timezone: "Europe/Paris", report: { report_name: "top-movies-per-rating", top: 3 }, output: "csv" };
  const created = await call("POST", "/v1/schedules", `${u}/v1/schedules`, { json: body });
  assert.is(created.status, 201);
  const id = created.body.id as string;
  assert.is((await call("POST", "/v1/schedules", `${u}/v1/schedules`, { json: { ...body, cron: "61 * * * *" } })).status, 422);
  assert.is((await call("POST", "/v1/schedules", `${u}/v1/schedules`, { json: { ...body, report: { report_name: "nope" } } })).status, 404);
  assert.is((await call("GET", "/v1/schedules", `${u}/v1/schedules?page_size=1`)).status, 200);
  assert.is((await call("GET", one, `${u}/v1/schedules/${id}`)).status, 200);
  assert.is((await call("GET", one, `${u}/v1/schedules/not-an-id`)).status, 400);
  assert.is((await call("GET", one, `${u}/v1/schedules/${"d".repeat(24)}`)).status, 404);
  assert.is((await call("PATCH", one, `${u}/v1/schedules/${id}`, { json: { cron: "0 9 * * *" } })).status, 200);
  assert.is((await call("POST", `${one}/pause`, `${u}/v1/schedules/${id}/pause`)).status, 200);
  assert.is((await call("POST", `${one}/resume`, `${u}/v1/schedules/${id}/resume`)).status, 200);
  assert.is((await call("DELETE", one, `${u}/v1/schedules/${id}`)).status, 204);
  assert.is((await call("GET", "/v1/schedules", `${keyed.url}/v1/schedules`)).status, 401);
});

test("report definitions through the API: put, versions, restore, retire, and their refusals", async () => {
  const u = open.url;
  const one = "/v1/report-definitions/{name}";
  const definition = {
    collection: "movies",
    description: "Movies per year.",
    parameters: { type: "object", properties: {} },
    pipeline: [{ $group: { _id: "$year", movies: { $sum: 1 } } }],
    columns: [{ name: "_id" }, { name: "movies" }],
  };
  const url = `${u}/v1/report-definitions/contract-years`;
  assert.is((await call("PUT", one, url, { json: definition })).status, 201);
  assert.is((await call("PUT", one, url, { json: { ...definition, description: "Movies per year, again." } })).status, 200);
  assert.is((await call("PUT", one, url, { json: { ...definition, pipeline: [{ $out: "x" }] } })).status, 422);
  assert.is((await call("PUT", one, `${u}/v1/report-definitions/top-movies-per-rating`, { json: definition })).status, 409);
  assert.is((await call("GET", one, url)).status, 200);
  assert.is((await call("GET", `${one}/versions`, `${url}/versions`)).status, 200);
  assert.is((await call("GET", `${one}/versions`, `${u}/v1/report-definitions/never-was/versions`)).status, 404);
  assert.is((await call("GET", `${one}/versions/{version}`, `${url}/versions/1`)).status, 200);
  assert.is((await call("GET", `${one}/versions/{version}`, `${url}/versions/0`)).status, 400);
  assert.is((await call("GET", `${one}/versions/{version}`, `${url}/versions/7`)).status, 404);
  assert.is((await call("POST", `${one}/versions/{version}/restore`, `${url}/versions/1/restore`)).status, 200);
  assert.is((await call("DELETE", one, url)).status, 204);
  assert.is((await call("DELETE", one, url)).status, 404);
  assert.is((await call("POST", `${one}/versions/{version}/restore`, `${url}/versions/2/restore`)).status, 201);
  // (This deployment limits each key to 3 calls a minute: the admin key's own write is tested in definition-versions.)
  const keyedUrl = `${keyed.url}/v1/report-definitions/contract-years`;
  assert.is((await call("PUT", one, keyedUrl, { json: definition, headers: auth("alice") })).status, 403);
});

test("the document covers what was driven", () => {
  const statuses = new Set([...contract.seen].map((entry) => entry.split(" ")[2]));
  for (const status of ["200", "202", "204", "400", "401", "403", "404", "409", "410", "413", "415", "422", "429"]) {
    assert.ok(statuses.has(status), `a ${status} was checked`);
  }
});

test.run();
