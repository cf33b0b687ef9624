/**
 * Property-based fuzzing (fast-check) of everything a client or an integration can send:
 * 10,000 malformed HTTP requests get only 4xx problem+json answers and store nothing; malformed
 * documents inserted straight into MongoDB all end in `error`, and the worker survives them.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post } from "../support/http.ts";

const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 10_000);
// 2,000 documents by default, to keep the suite short: each one costs a claim (two queries), a
// validation and a final write, about 45 a second on the test server of a loaded 2-core machine
// (measured: 2,000 in 40 s, 4,000 in 91 s), so 10,000 take 4-5 minutes (FUZZ_DOC_RUNS=10000).
const DOC_RUNS = Number(process.env.FUZZ_DOC_RUNS ?? 2_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261128);

const test = suite("fuzz");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("fuzz");
  service = await startTestService(mongo, { config: { workerConcurrency: 4, reuseWindowMs: 0 } });
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const REPORTS = ["top-movies-per-rating", "top-directors-per-movie-rating", "top-directors-per-comment"];
const nastyKey = fc.oneof(
  fc.constantFrom("$where", "$expr", "$function", "$accumulator", "$ne", "$gt", "$regex", "$out", "$merge", "$lookup"),
  fc.constantFrom("__proto__", "constructor", "prototype", "imdb.rating", "a.b.c", "$", ".", "", "toString"),
  fc.string({ maxLength: 20 }).map((s) => `$${s}`),
  fc.string({ maxLength: 20 }).map((s) => `${s}.${s}`),
  fc
    .string({ minLength: 1, maxLength: 30 })
    .filter(
      (s) =>
        ![
          "top",
          "rating",
          "min_votes",
          "released",
          "actors",
          "directors",
          "writers",
          "genres",
          "movies",
          "comments",
          "comment_date",
          "report_name",
          "output",
        ].includes(s),
    ),
);
const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string({ maxLength: 40 }),
    fc.string({ minLength: 5_000, maxLength: 20_000 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(nastyKey, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Deep nesting: {"a":{"a":{…}}} a few hundred levels down. */
const deeplyNested = fc.integer({ min: 50, max: 800 }).map((depth) => {
  let value: unknown = { $where: "1" };
  for (let i = 0; i < depth; i++) value = { rating: value };
  return value;
});

/** A body with at least one defect, so that none of them may be accepted. */
const malformedBody: fc.Arbitrary<unknown> = fc.oneof(
  // a valid report with one injected bad field (unknown key, operator, dotted key, …)
  fc
    .record({ report: fc.constantFrom(...REPORTS), key: nastyKey, value: nastyValue })
    .map(({ report, key, value }) => ({ report_name: report, [key]: value })),
  // a known filter with a value of the wrong shape, operators inside
  fc
    .record({
      report: fc.constantFrom(...REPORTS),
      field: fc.constantFrom("top", "rating", "released", "directors", "comments", "min_votes"),
      key: nastyKey,
      value: nastyValue,
    })
    .map(({ report, field, key, value }) => ({ report_name: report, [field]: { [key]: value, $where: "sleep(1)" } })),
  // report_name missing, of the wrong type, or unknown
  fc
    .record({ name: nastyValue, rest: fc.dictionary(nastyKey, nastyValue, { maxKeys: 3 }) })
    .map(({ name, rest }) => ({ ...rest, report_name: typeof name === "string" ? `x-${name}` : name })),
  // not an object at all
  fc.oneof(fc.array(nastyValue, { maxLength: 4 }), fc.string(), fc.integer(), fc.constant(null)),
  deeplyNested.map((nested) => ({ report_name: "top-movies-per-rating", rating: nested })),
);

type Probe = { method: "POST" | "GET"; path: string; body?: string | Uint8Array; headers?: Record<string, string> };

const queryValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.constantFrom("-1", "1e9", "0x10", "NaN", "", "%", "%FF", "99999999999"),
);
const probes: fc.Arbitrary<Probe> = fc.oneof(
  { weight: 6, arbitrary: malformedBody.map((body): Probe => ({ method: "POST", path: "/v1/reports", body: JSON.stringify(body) })) },
  // per-collection alias with a defect
  {
    weight: 1,
    arbitrary: fc
      .record({ collection: fc.constantFrom("movies", "comments", "users", "nope"), body: malformedBody })
      .map(({ collection, body }): Probe => ({
        method: "POST",
        path: `/v1/${collection}/top-movies-per-rating`,
        body: JSON.stringify(body),
      })),
  },
  // invalid UTF-8 inside an otherwise plausible body
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bytes): Probe => ({
      method: "POST",
      path: "/v1/reports",
      body: Buffer.concat([
        Buffer.from('{"report_name":"top-movies-per-rating","'),
        Buffer.from([0xff, 0xfe, ...bytes]),
        Buffer.from('":1}'),
      ]),
    })),
  },
  // truncated or non-JSON text, wrong content types, oversized bodies
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 50 }).map((text): Probe => ({ method: "POST", path: "/v1/reports", body: `{${text}` })),
      fc
        .string({ maxLength: 50 })
        .map((text): Probe => ({ method: "POST", path: "/v1/reports", body: text, headers: { "content-type": "text/plain" } })),
      fc
        .integer({ min: 70_000, max: 300_000 })
        .map((size): Probe => ({ method: "POST", path: "/v1/reports", body: `{"report_name":"${"x".repeat(size)}"}` })),
    ),
  },
  // bad ids and query strings
  {
    weight: 2,
    arbitrary: fc
      .record({
        id: fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.array(fc.constantFrom(..."0123456789abcdef"), { minLength: 24, maxLength: 24 }).map((chars) => chars.join("")),
        ),
        page: queryValue,
        size: queryValue,
        wait: queryValue,
      })
      .map(({ id, page, size, wait }): Probe => ({
        method: "GET",
        path: `/v1/reports/${encodeURIComponent(id) || "x"}?page=${encodeURIComponent(page)}&page_size=${encodeURIComponent(size)}&wait=${encodeURIComponent(wait)}`,
      })),
  },
);

test(`${HTTP_RUNS} malformed HTTP requests: only 4xx problem+json, nothing stored, server up`, async () => {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(probes, async (probe) => {
      const response = await fetch(`${service.url}${probe.path}`, {
        method: probe.method,
        body: probe.body as BodyInit | undefined,
        headers: { ...(probe.body === undefined ? {} : { "content-type": "application/json" }), ...probe.headers },
      });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status < 400 || response.status >= 500)
        throw new Error(`status ${response.status} for ${probe.method} ${probe.path.slice(0, 200)}: ${text.slice(0, 300)}`);
      if (!response.headers.get("content-type")?.startsWith("application/problem+json"))
        throw new Error(`not problem+json: ${response.headers.get("content-type")}`);
      const problem = JSON.parse(text);
      if (problem.status !== response.status || typeof problem.title !== "string" || typeof problem.type !== "string")
        throw new Error(`bad problem body ${text.slice(0, 300)}`);
    }),
    { numRuns: HTTP_RUNS, seed: SEED, endOnFailure: true },
  );
  assert.is(await service.context.database.requests.countDocuments({}), 0, "nothing stored");
  assert.is((await get(`${service.url}/healthz`)).status, 200);
  assert.ok(({} as any).polluted === undefined && ({} as any).$where === undefined, "no prototype pollution");
  console.log(JSON.stringify({ event: "fuzz.http", runs: HTTP_RUNS, statuses: Object.fromEntries(statuses) }));
});

test(`${DOC_RUNS} malformed documents inserted straight into MongoDB: each ends in error, the worker stays up`, async () => {
  const docs = fc
    .sample(
      fc.oneof(
        fc
          .record({ report: fc.constantFrom(...REPORTS), params: nastyValue })
          .map(({ report, params }) => ({ report_name: report, params: { bad: params } })),
        fc
          .record({ report: fc.constantFrom(...REPORTS), key: nastyKey, value: nastyValue })
          .map(({ report, key, value }) => ({ report_name: report, params: { top: 0, [key]: value } })),
        fc
          .record({ name: nastyValue, params: nastyValue })
          .map(({ name, params }) => ({ report_name: typeof name === "string" ? `x-${name}` : name, params })),
        fc
          .record({ output: fc.string(), report: fc.constantFrom(...REPORTS) })
          .map(({ output, report }) => ({ report_name: report, params: {}, output: `x${output}` })),
      ),
      { numRuns: DOC_RUNS, seed: SEED },
    )
    .map((doc) => ({ ...(doc as object), status: "pending" }));
  const requests = service.context.database.requests;
  for (let i = 0; i < docs.length; i += 200) await requests.insertMany(docs.slice(i, i + 200) as any[]);
  await eventually(
    async () => ((await requests.countDocuments({ status: { $in: ["pending", "running"] } })) === 0 ? true : undefined),
    300_000,
    200,
  );
  const byStatus = await requests.aggregate([{ $group: { _id: "$status", n: { $sum: 1 } } }]).toArray();
  assert.equal(byStatus, [{ _id: "error", n: DOC_RUNS }], "every one ended in error");
  const withoutReason = await requests.countDocuments({ $or: [{ "error.message": { $exists: false } }, { "error.message": "" }] });
  assert.is(withoutReason, 0, "each says why");
  // Still serving: a good request afterwards completes.
  await service.context.database.db.collection("movies").insertOne({ title: "After the storm", imdb: { rating: 7, votes: 10 } });
  const good = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" });
  assert.is((await get(`${service.url}/v1/reports/${good.body.id}?wait=20`)).body.status, "completed");
});

test.run();
