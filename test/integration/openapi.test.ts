/**
 * Discovery and the OpenAPI 3.1 document: valid against the official 3.1 schema, listing every
 * route the app serves, with each report's body generated from the struct that validates it, so
 * the JSON Schema and the API agree on what is valid.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Validator } from "@seriousme/openapi-schema-validator";
// ajv comes with the OpenAPI validator; its 2020-12 build is the dialect OpenAPI 3.1 uses.
import Ajv2020Module from "ajv/dist/2020.js";
import { createApp } from "../../src/api/app.ts";
import { toOpenApiPath } from "../../src/api/openapi.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post } from "../support/http.ts";

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as new (options: object) => {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown };
};

const test = suite("discovery and OpenAPI");
let mongo: TestMongo;
let service: TestService;
let document: any;

test.before(async () => {
  mongo = await startTestMongo("openapi");
  // No worker: submitted requests stay pending, which is all these tests need.
  service = await startTestService(mongo, { worker: false });
  const response = await get(`${service.url}/openapi.json`);
  assert.is(response.status, 200);
  document = response.body;
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

test("GET /openapi.json is a valid OpenAPI 3.1 document", async () => {
  assert.is(document.openapi, "3.1.0");
  const validator = new Validator();
  const result = await validator.validate(document);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
  assert.is(validator.version, "3.1");
});

test("without API keys the document asks for none, leads with the reports tag, and its texts survive Markdown", async () => {
  const doc = (await get(`${service.url}/openapi.json`)).body;
  assert.is(doc.components.securitySchemes, undefined, "no Authorize button in /docs while keys are off");
  const operations = Object.values(doc.paths).flatMap((path: any) => Object.values(path)) as any[];
  assert.ok(operations.every((op) => op.security === undefined));
  assert.is(doc.tags[0].name, "reports");
  // Swagger UI renders descriptions as Markdown, where <collection> is taken for an HTML tag and vanishes.
  const texts = operations.flatMap((op) => [
    op.summary ?? "",
    op.description ?? "",
    ...Object.values(op.responses).flatMap((r: any) => Object.values(r.headers ?? {}).map((h: any) => h.description ?? "")),
  ]);
  const lost = texts.map((text: string) => text.replace(/`[^`]*`/g, "")).filter((text: string) => /<[a-z][a-z _-]*>/i.test(text));
  assert.equal(lost, []);
});

test("every route the app serves is in the document, with its scope", () => {
  const app = createApp(service.context);
  const routes = app.routes;
  app.close();
  assert.ok(routes.length >= 9, `found ${routes.length} routes`);
  for (const route of routes) {
    const operation = document.paths[toOpenApiPath(route.path)]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${route.path} missing from /openapi.json`);
    assert.is(operation["x-scope"], route.access, `${route.method} ${route.path} states its scope`);
  }
  for (const known of [
    "get /healthz",
    "get /readyz",
    "get /openapi.json",
    "get /docs",
    "get /v1/report-definitions",
    "get /v1/report-definitions/{name}",
    "post /v1/report-definition-checks",
    "post /v1/reports",
    "get /v1/reports/{id}",
    "delete /v1/reports/{id}",
    "get /v1/reports/{id}/csv",
    "post /v1/{collection}/{report_name}",
  ]) {
    const [method, path] = known.split(" ");
    const operation = document.paths[path]?.[method];
    assert.ok(operation?.summary && operation.responses, `${known} is described`);
  }
});

test("each report has its own request body, selected by report_name, and a spelled-out alias", async () => {
  const discovery = (await get(`${service.url}/v1/report-definitions`)).body;
  assert.is(discovery.dataset, undefined, "no dataset note unless the deployment gives one");
  const reports = discovery.reports as any[];
  assert.ok(reports.length >= 12, `${reports.length} reports`);
  assert.ok(reports.filter((r) => r.kind === "data").length >= 2, "at least two data-defined seeds");
  const body = document.paths["/v1/reports"].post.requestBody.content["application/json"].schema;
  assert.is(body.discriminator.propertyName, "report_name");
  for (const report of reports) {
    const name = `ReportRequest.${report.name}`;
    assert.ok(document.components.schemas[name], name);
    assert.is(body.discriminator.mapping[report.name], `#/components/schemas/${name}`);
    // A report's name aliases (the design document's spellings) are accepted values too.
    const names = [report.name, ...report.aliases.names];
    const expected = names.length > 1 ? { type: "string", enum: names } : { type: "string", const: report.name };
    assert.equal(document.components.schemas[name].properties.report_name, expected);
    const alias = document.paths[`/v1/${report.collection}/${report.name}`]?.post;
    assert.ok(alias, `alias of ${report.name}`);
  }
  assert.equal(new Set(body.oneOf.map((s: any) => s.$ref)).size, reports.length);
});

test("discovery lists parameters as JSON Schema, columns and an example body the API accepts", async () => {
  const reports = (await get(`${service.url}/v1/report-definitions`)).body.reports as any[];
  for (const report of reports) {
    assert.is(report.parameters.type, "object", report.name);
    assert.is(report.parameters.additionalProperties, false, report.name);
    assert.ok(report.columns.length > 0 && report.columns.every((c: any) => typeof c.name === "string"), report.name);
    assert.is(report.example.report_name, report.name);
    const one = await get(`${service.url}/v1/report-definitions/${report.name}`);
    assert.equal(one.body, report);
    const submitted = await post(`${service.url}/v1/reports`, report.example);
    assert.ok(submitted.status === 202 || submitted.status === 200, `${report.name} example: ${JSON.stringify(submitted.body)}`);
  }
  const unknown = await get(`${service.url}/v1/report-definitions/no-such-report`);
  assert.is(unknown.status, 404);
  assert.ok(unknown.body.available.includes("top-movies-per-rating"));
});

test("the published JSON Schema and the API's validation agree", async () => {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, formats: { "date-time": true, uri: true } });
  const cases: Record<string, Record<string, unknown>[]> = {
    "top-movies-per-rating": [
      {},
      {
        rating: { $gt: 7 },
        min_votes: 100,
        released: { $gt: "1990", $lt: "2021" },
        genres: { include: ["Drama"], exclude: ["Comedy"] },
        top: 5,
      },
      { released: { $gte: 1940, $lte: "1945-06-30" } },
      { rating: { $gt: 7, $gte: 8 } },
      { rating: {} },
      { rating: { $where: "1" } },
      { rating: { $gt: "7" } },
      { top: 0 },
      { top: 2.5 },
      { released: { $gt: "last year" } },
      { genres: { include: [] } },
      { genres: {} },
      { colour: "red" },
    ],
    "theaters-per-city": [
      {},
      { top: 10, states: { include: ["TX"] } },
      { top: 10001 },
      { theaters: { $lt: 3 } },
      { cities: { include: [""] } },
      { states: ["TX"] },
    ],
    "top-actors": [{ rank_by: "movies" }, { rank_by: "fame" }, { movies: { $gte: 2 }, actors: { exclude: ["X"] } }],
    "movies-per-period": [{ period: "year", years: { $gte: 1940 } }, { period: "century" }, { years: { $gte: "1940" } }],
  };
  for (const [name, bodies] of Object.entries(cases)) {
    const schema = document.components.schemas[`ReportRequest.${name}`];
    const validate = ajv.compile(schema);
    for (const params of bodies) {
      const body = { report_name: name, ...params };
      const response = await post(`${service.url}/v1/reports`, body);
      const apiAccepts = response.status === 202 || response.status === 200;
      assert.ok(apiAccepts || response.status === 400, `${JSON.stringify(body)}: ${response.status}`);
      assert.is(
        validate(body),
        apiAccepts,
        `${JSON.stringify(body)}: API ${apiAccepts ? "accepts" : "rejects"}, JSON Schema disagrees ${JSON.stringify(validate.errors)}`,
      );
    }
  }
});

test("date strings: the API accepts exactly those the published pattern matches", async () => {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, formats: { "date-time": true, uri: true } });
  const validate = ajv.compile(document.components.schemas["ReportRequest.top-movies-per-rating"]);
  const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, "0"));
  const four = fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, "0"));
  // Mostly date-shaped text with any digits (months 13+, day 31 of short months, 29 February), some real dates.
  const dateText = fc.oneof(
    fc.tuple(four, two, two).map(([y, m, d]) => `${y}-${m}-${d}`),
    fc
      .tuple(four, two, two, two, two, fc.constantFrom("", "Z", ":59", ":60.5Z", "+14:00", "-23:59", "+24:00"))
      .map(([y, m, d, h, min, tail]) => `${y}-${m}-${d}T${h}:${min}${tail}`),
    fc
      .date({ min: new Date("0000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
      .map((d) => d.toISOString()),
    four,
  );
  await fc.assert(
    fc.asyncProperty(dateText, async (text) => {
      const body = { report_name: "top-movies-per-rating", released: { $gte: text } };
      const response = await post(`${service.url}/v1/reports`, body);
      const apiAccepts = response.status === 202 || response.status === 200;
      assert.ok(apiAccepts || response.status === 400, `${text}: ${response.status}`);
      assert.is(validate(body), apiAccepts, `${text}: API ${apiAccepts ? "accepts" : "rejects"} it, the schema disagrees`);
    }),
    { numRuns: 300, seed: 20261130 },
  );
  for (const [text, valid] of [
    ["0015-36-70", false],
    ["2020-02-29", true],
    ["2021-02-29", false],
    ["2000-02-29T23:59:59.999Z", true],
    ["1900-02-29", false],
    ["0015", true],
  ] as const) {
    const response = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", released: { $gte: text } });
    assert.is(response.status === 202 || response.status === 200, valid, `${text}: ${response.status}`);
  }
});

test("GET /docs serves an interactive page reading /openapi.json, every file from this service (no CDN)", async () => {
  const response = await fetch(`${service.url}/docs`);
  assert.is(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /text\/html/);
  const page = await response.text();
  const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((url) => !url.startsWith("data:"));
  assert.equal(assets.sort(), ["/docs/contrast.css", "/docs/init.js", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]);
  for (const asset of assets) {
    const served = await fetch(`${service.url}${asset}`);
    assert.is(served.status, 200, asset);
    const body = await served.text();
    if (asset === "/docs/init.js") assert.match(body, /url: "\/openapi\.json"/);
    else if (asset === "/docs/contrast.css") assert.match(body, /\.swagger-ui \.opblock/);
    else assert.ok(body.length > 10_000, `${asset}: ${body.length} bytes`);
  }
});

test.run();
