/**
 * The route declarations are the validator: what /openapi.json declares for a route's path,
 * query, headers and body is what the router accepts, and what it refuses is answered as a
 * problem naming the field. Each case was accepted (or answered 500) before the router checked
 * the declarations. Also: methods (405 with Allow, 501), and state-changing requests from
 * another site (refused whether or not keys are on).
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post, request, type JsonResponse } from "../support/http.ts";

const test = suite("declared input");
let mongo: TestMongo;
let service: TestService;
let webhooks: TestService;

test.before(async () => {
  mongo = await startTestMongo("declared_input");
  service = await startTestService(mongo, { worker: false });
  webhooks = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_hooks` },
    { worker: false, config: { webhookSecret: Buffer.alloc(32, 7) } },
  );
});

test.after(async () => {
  await webhooks?.close();
  await service?.close();
  await mongo?.stop();
});

function assertProblem(response: JsonResponse, status: number, type: string): void {
  assert.is(response.status, status, JSON.stringify(response.body));
  assert.ok(response.headers.get("content-type")?.startsWith("application/problem+json"), String(response.headers.get("content-type")));
  assert.is(response.body.type, `https://mongo-reports.dev/problems/${type}`);
}

const stored = () => service.context.database.requests.countDocuments({});

test("an empty after= cursor is refused (it was read as no cursor)", async () => {
  const response = await get(`${service.url}/v1/reports?after=`);
  assertProblem(response, 400, "invalid-query");
  assert.is(response.body.errors[0].field, "after");
});

test("an empty Idempotency-Key is refused (it was read as no key) and nothing is stored", async () => {
  const before = await stored();
  const response = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" }, { "Idempotency-Key": "" });
  assertProblem(response, 400, "invalid-idempotency-key");
  assert.is(await stored(), before);
});

test("a Last-Event-ID that does not match its declared pattern is refused", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" });
  const response = await request(`${service.url}/v1/reports/${submitted.body.id}/events`, { headers: { "Last-Event-ID": "x" } });
  assertProblem(response, 400, "invalid-header");
  assert.is(response.body.errors[0].field, "Last-Event-ID");
});

test("callback_url is in the document only where WEBHOOK_SECRET is set, and refused by name elsewhere", async () => {
  const without = (await get(`${service.url}/openapi.json`)).body;
  const withSecret = (await get(`${webhooks.url}/openapi.json`)).body;
  const envelope = (document: any) => document.components.schemas["ReportRequest.top-movies-per-rating"].properties;
  assert.not.ok("callback_url" in envelope(without));
  assert.ok("callback_url" in envelope(withSecret));
  assert.not.ok("callback_url" in without.components.schemas.ScheduleInput.properties);
  assert.ok("callback_url" in withSecret.components.schemas.ScheduleInput.properties);
  const refused = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", callback_url: "https://example.com/x" });
  assertProblem(refused, 400, "invalid-parameters");
  assert.is(refused.body.errors[0].field, "callback_url");
  assert.match(refused.body.errors[0].message, /WEBHOOK_SECRET/);
});

test("a 5,000-deep JSON body to the definition check is a 400, not a stack overflow (500)", async () => {
  const deep = "[".repeat(5000) + "]".repeat(5000);
  const body = `{"name":"deep","collection":"movies","description":"d","parameters":{"type":"object","properties":{}},"pipeline":[{"$match":${deep}}],"columns":[{"name":"a"}]}`;
  const response = await request(`${service.url}/v1/report-definition-checks`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  assertProblem(response, 400, "invalid-body");
  assert.match(response.body.detail, /nested more than \d+ levels/);
  assert.is((await get(`${service.url}/healthz`)).status, 200);
});

test("a definition body missing its declared required fields is refused with every field named", async () => {
  const response = await post(`${service.url}/v1/report-definition-checks`, {});
  assertProblem(response, 422, "invalid-definition");
  for (const field of ["name", "collection", "description", "parameters", "pipeline", "columns"]) {
    assert.ok(
      response.body.errors.some((e: string) => e.startsWith(`${field}:`)),
      `${field} in ${response.body.errors}`,
    );
  }
});

test("a schedule whose report_name is not a string is refused by its declared schema", async () => {
  const response = await post(`${service.url}/v1/schedules`, { cron: "0 8 * * 1", report: { report_name: null } });
  assertProblem(response, 400, "invalid-parameters");
  assert.is(response.body.errors[0].field, "report.report_name");
});

test("methods: 405 with Allow for an HTTP method the path lacks, 501 for a method the server implements nowhere", async () => {
  const trace = await request(`${service.url}/v1/reports`, { method: "PUT" });
  assertProblem(trace, 405, "method-not-allowed");
  assert.is(trace.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  const { request: raw } = await import("node:http");
  const status = await new Promise<number>((resolve, reject) => {
    const req = raw(`${service.url}/v1/reports`, { method: "PROPFIND" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
  assert.is(status, 501);
});

/** A request with exactly these headers (fetch may drop or set Origin itself). */
async function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<JsonResponse> {
  const { request: send } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: new Headers(res.headers as Record<string, string>),
          body: text ? JSON.parse(text) : undefined,
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("a POST from another origin, or one the browser marks cross-site, changes nothing (keys off)", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" });
  const cancel = `${service.url}/v1/reports/${submitted.body.id}/cancel`;
  assertProblem(await raw(cancel, "POST", { Origin: "https://evil.example" }), 403, "cross-site");
  assertProblem(await raw(cancel, "POST", { "Sec-Fetch-Site": "cross-site" }), 403, "cross-site");
  const put = await raw(
    `${service.url}/v1/report-definitions/anon-def`,
    "PUT",
    { Origin: "https://evil.example", "content-type": "text/plain" },
    "{}",
  );
  assertProblem(put, 403, "cross-site");
  assert.is((await get(`${service.url}/v1/reports/${submitted.body.id}`)).body.status, "pending");
  // The same origin, and clients that are not browsers (no Origin), still work.
  const own = await raw(cancel, "POST", { Origin: service.url });
  assert.is(own.status, 200, JSON.stringify(own.body));
});

test("a reversed range is refused with 400 naming both bounds, and a date typo says what is accepted", async () => {
  const before = await stored();
  const reversed = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", released: { $gt: 2000, $lt: 1990 } });
  assertProblem(reversed, 400, "invalid-parameters");
  assert.is(reversed.body.errors[0].field, "released");
  assert.match(reversed.body.errors[0].message, /\$gte 2001-01-01.*\$lt 1990-01-01/);
  const typo = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", released: { $gt: "199O" } });
  assertProblem(typo, 400, "invalid-parameters");
  assert.match(typo.body.errors[0].message, /a year such as 1990, or an ISO 8601 date/);
  assert.is(await stored(), before);
});

test("two aliases of one parameter in one body are refused, as the schema says", async () => {
  const both = await post(`${service.url}/v1/movies-per-rating`, {
    report_name: "top-movies-per-rating",
    movie_released_at: { $gt: 1990 },
    time_range: { $lt: 2000 },
  });
  assertProblem(both, 400, "invalid-parameters");
  const schema = (await get(`${service.url}/openapi.json`)).body.components.schemas["ReportParameters.top-movies-per-rating"];
  assert.ok(
    schema.allOf.some((s: any) => s.not.required.includes("movie_released_at") && s.not.required.includes("time_range")),
    JSON.stringify(schema.allOf),
  );
});

test("a body that is not JSON is refused with 415 before anything reads it", async () => {
  const response = await request(`${service.url}/v1/reports`, {
    method: "POST",
    body: '{"report_name":"top-movies-per-rating"}',
    headers: { "content-type": "text/plain" },
  });
  assertProblem(response, 415, "unsupported-media-type");
});

test.run();
