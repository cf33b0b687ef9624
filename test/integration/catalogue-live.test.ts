/**
 * Adding reports while the service runs, with no other change: a report_definitions document
 * inserted straight into MongoDB, and a code module dropped into a REPORTS_DIRS folder. Invalid
 * definitions and modules are set aside with their reasons and never break the others.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import type { Collection, Document } from "mongodb";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { openContext, type AppContext } from "../../src/context.ts";
import { silentLogger } from "../../src/log.ts";
import { COLLECTIONS } from "../../src/db.ts";
import { InvalidDefinitionError } from "../../src/reports/data-defined/store.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, testConfig, type TestService } from "../support/service.ts";
import { loadMflix, readMflix } from "../support/mflix.ts";
import { eventually, get, post } from "../support/http.ts";
import { assertRows, byString, isNumber, mean, rank, runReport, within, type Row } from "../support/reports.ts";

const test = suite("catalogue: reports added at run time");
let mongo: TestMongo;
let service: TestService;
let definitions: Collection<Document>;
let movies: Document[];
// Inside the repository so a dropped-in module resolves "superstruct" like any other.
const DROP_DIR = path.join(REPO_ROOT, ".cache", `test-report-modules-${process.pid}`);
const DEFINE_URL = pathToFileURL(path.join(REPO_ROOT, "dist", "src", "reports", "define.js")).href;
const FILTERS_URL = pathToFileURL(path.join(REPO_ROOT, "dist", "src", "reports", "filters.js")).href;

test.before(async () => {
  rmSync(DROP_DIR, { recursive: true, force: true });
  mkdirSync(DROP_DIR, { recursive: true });
  mongo = await startTestMongo("catalogue_live");
  service = await startTestService(mongo, { config: { catalogueReloadMs: 200, reportsDirs: [DROP_DIR] } });
  definitions = service.context.database.db.collection(COLLECTIONS.definitions);
  await loadMflix(service.context.database.db, ["movies"]);
  movies = await readMflix("movies");
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
  rmSync(DROP_DIR, { recursive: true, force: true });
});

/** Languages by movie count: a definition using a date range, a number, a list, a default and top. */
const languagesDefinition = {
  name: "languages-by-movie-count",
  collection: "movies",
  description: "Languages ranked by number of movies, with their average IMDb rating.",
  parameters: {
    type: "object",
    properties: {
      released: { type: "range", of: "date", description: "release date bounds" },
      min_votes: { type: "integer", minimum: 0 },
      languages: { type: "list" },
      top: { type: "integer", minimum: 1, maximum: 100, default: 5 },
    },
  },
  pipeline: [
    { $match: { released: { $param: "released" }, "imdb.votes": { $gte: { $param: "min_votes" } }, languages: { $param: "languages" } } },
    { $unwind: "$languages" },
    { $match: { languages: { $param: "languages" } } },
    { $group: { _id: "$languages", movies: { $sum: 1 }, average_rating: { $avg: "$imdb.rating" } } },
    { $sort: { movies: -1, _id: 1 } },
    { $limit: { $param: "top" } },
    { $project: { _id: 0, language: "$_id", movies: 1, average_rating: 1 } },
  ],
  columns: [{ name: "language" }, { name: "movies" }, { name: "average_rating" }],
  example: { released: { $gte: "1940", $lt: "1950" }, top: 5 },
};

function expectedLanguages(
  filter: (m: Document) => boolean,
  list: { include?: string[]; exclude?: string[] } | undefined,
  top: number,
): Row[] {
  const by = new Map<string, Document[]>();
  for (const m of movies.filter(filter)) {
    for (const language of m.languages ?? []) {
      if (list?.include && !list.include.includes(language)) continue;
      if (list?.exclude && list.exclude.includes(language)) continue;
      by.set(language, [...(by.get(language) ?? []), m]);
    }
  }
  return [...by]
    .map(([language, ms]) => ({
      language,
      movies: ms.length,
      average_rating: mean(ms.filter((m) => isNumber(m.imdb?.rating)).map((m) => m.imdb.rating)),
    }))
    .sort((a, b) => b.movies - a.movies || byString(a.language, b.language))
    .slice(0, top);
}

async function whenListed(name: string): Promise<Record<string, any>> {
  return eventually(async () => {
    const response = await get(`${service.url}/v1/report-definitions/${name}`);
    return response.status === 200 ? response.body : undefined;
  }, 10_000);
}

async function rejectedNamed(name: string): Promise<Record<string, any>> {
  return eventually(async () => {
    const response = await get(`${service.url}/v1/report-definitions`);
    return response.body.rejected.find((r: { name?: string }) => r.name === name);
  }, 10_000);
}

test("a definition inserted into report_definitions becomes a report, runnable with no other change", async () => {
  assert.is((await get(`${service.url}/v1/report-definitions/languages-by-movie-count`)).status, 404);
  await definitions.insertOne({ ...languagesDefinition });
  const described = await whenListed("languages-by-movie-count");
  assert.is(described.kind, "data");
  assert.is(described.parameters.properties.top.default, 5);
  assert.is(described.parameters.properties.released.properties.$gte.anyOf.length, 2);

  const rows = await runReport(service.url, {
    report_name: "languages-by-movie-count",
    released: { $gte: "1940", $lt: "1950" },
    min_votes: 100,
  });
  const start = new Date(Date.UTC(1940, 0, 1));
  const end = new Date(Date.UTC(1950, 0, 1));
  const keep = (m: Document) => within(m.released, { $gte: start, $lt: end }) && isNumber(m.imdb?.votes) && m.imdb.votes >= 100;
  assertRows(rows, expectedLanguages(keep, undefined, 5), "languages, default top 5");

  // Absent optional parameters drop out of the pipeline: no date, no vote floor, an exclude list.
  const all = await runReport(
    service.url,
    { report_name: "languages-by-movie-count", languages: { exclude: ["English"] }, top: 100 },
    { alias: "movies" },
  );
  // The list filters movies (no English at all) and then the unwound languages.
  const noEnglish = (m: Document) => !(m.languages ?? []).includes("English");
  assertRows(all, expectedLanguages(noEnglish, { exclude: ["English"] }, 100), "languages of movies without English");
});

test("a changed definition is picked up; workers in another process see it too", async () => {
  const other: AppContext = await openContext({
    component: "second",
    config: testConfig(mongo, { catalogueReloadMs: 200 }),
    log: silentLogger,
  });
  try {
    assert.ok(other.catalogue.get("languages-by-movie-count"), "a second process loads the definition");
    await definitions.updateOne({ name: "languages-by-movie-count" }, { $set: { description: "Changed while running." } });
    await eventually(
      async () => ((await whenListed("languages-by-movie-count")).description === "Changed while running." ? true : undefined),
      10_000,
    );
    await eventually(
      async () => (other.catalogue.get("languages-by-movie-count")?.description === "Changed while running." ? true : undefined),
      10_000,
    );
  } finally {
    await other.close();
  }
});

test('parameters go into expressions as literals: a "$field" string is text, not a field path', async () => {
  await service.context.definitionVersions.save(
    {
      name: "labelled-long-movies",
      collection: "movies",
      description: "Movies at least min_runtime long, each labelled with the given text.",
      parameters: {
        type: "object",
        properties: { min_runtime: { type: "integer", minimum: 0 }, label: { type: "string", maxLength: 50 } },
        required: ["min_runtime", "label"],
      },
      pipeline: [
        { $match: { $expr: { $gte: ["$runtime", { $param: "min_runtime" }] } } },
        { $addFields: { label: { $param: "label" } } },
        { $sort: { runtime: -1, _id: 1 } },
      ],
      columns: [{ name: "title" }, { name: "runtime" }, { name: "label" }],
    },
    "api",
  );
  await whenListed("labelled-long-movies");
  const rows = await runReport(service.url, { report_name: "labelled-long-movies", min_runtime: 180, label: "$title" });
  const expected = movies
    .filter((m) => isNumber(m.runtime) && m.runtime >= 180)
    .sort((a, b) => b.runtime - a.runtime || byString(String(a._id), String(b._id)))
    .map((m) => ({ title: m.title, runtime: m.runtime, label: "$title" }));
  assert.ok(expected.length > 0);
  assert.equal(rows, expected);
});

const base = {
  collection: "movies",
  description: "test",
  parameters: { type: "object", properties: { min_votes: { type: "integer" } } },
  columns: [{ name: "title" }],
};
const vote = { $match: { "imdb.votes": { $gte: { $param: "min_votes" } } } };

const INVALID: { name: string; doc: Record<string, unknown>; reason: RegExp }[] = [
  {
    name: "bad-out",
    doc: { pipeline: [vote, { $out: "stolen" }] },
    reason: /pipeline\[1\]: \$out is forbidden \(writes to a collection\)/,
  },
  { name: "bad-merge", doc: { pipeline: [vote, { $merge: { into: "x" } }] }, reason: /\$merge is forbidden/ },
  {
    name: "bad-where",
    doc: { pipeline: [vote, { $match: { $where: "sleep(100)" } }] },
    reason: /pipeline\[1\]\.\$match\.\$where: \$where is forbidden \(runs JavaScript/,
  },
  {
    name: "bad-function",
    doc: { pipeline: [vote, { $addFields: { x: { $function: { body: "1", args: [], lang: "js" } } } }] },
    reason: /\$function is forbidden/,
  },
  {
    name: "bad-accumulator",
    doc: { pipeline: [vote, { $group: { _id: null, x: { $accumulator: {} } } }] },
    reason: /\$accumulator is forbidden/,
  },
  {
    name: "bad-lookup-unnamed",
    doc: { pipeline: [vote, { $lookup: { from: "users", localField: "a", foreignField: "_id", as: "u" } }] },
    reason: /"users" is not named in the definition's lookups/,
  },
  {
    name: "bad-lookup-private",
    doc: {
      lookups: ["report_requests"],
      pipeline: [vote, { $lookup: { from: "report_requests", localField: "a", foreignField: "_id", as: "u" } }],
    },
    reason: /service's own state/,
  },
  {
    name: "bad-lookup-pipeline",
    doc: { lookups: ["comments"], pipeline: [vote, { $lookup: { from: "comments", as: "c", pipeline: [] } }] },
    reason: /sub-pipelines are not/,
  },
  { name: "bad-unknown-stage", doc: { pipeline: [vote, { $sample: { size: 1 } }] }, reason: /the stage \$sample is not allowed/ },
  {
    name: "bad-unknown-placeholder",
    doc: { pipeline: [vote, { $limit: { $param: "top" } }] },
    reason: /\{"\$param": "top"\} names no declared parameter \(declared: min_votes\)/,
  },
  {
    name: "bad-unused-parameter",
    doc: { pipeline: [{ $limit: 5 }] },
    reason: /parameters\.properties\.min_votes: declared but never used/,
  },
  {
    name: "bad-parameter-type",
    doc: { parameters: { type: "object", properties: { min_votes: { type: "float" } } }, pipeline: [vote] },
    reason: /parameters\.properties\.min_votes\.type: must be one of string, number, integer, boolean, date, array, range, list/,
  },
  {
    name: "bad-parameter-keyword",
    doc: { parameters: { type: "object", properties: { min_votes: { type: "integer", pattern: ".*" } } }, pipeline: [vote] },
    reason: /unsupported keyword pattern for type integer/,
  },
  {
    name: "bad-optional-in-array",
    doc: { pipeline: [{ $match: { $expr: { $gte: ["$imdb.votes", { $param: "min_votes" }] } } }] },
    reason: /optional without a default, so it may only be an object value/,
  },
  {
    name: "bad-no-columns",
    doc: { columns: [], pipeline: [vote] },
    reason: /columns: Expected a array with a length between `1` and `100`/,
  },
  { name: "Bad Name", doc: { pipeline: [vote] }, reason: /name: Expected a string matching/ },
  { name: "top-actors", doc: { pipeline: [vote] }, reason: /is taken by a code-defined report/ },
];

test("invalid definitions are rejected with their reasons, and the others keep working", async () => {
  for (const { name, doc } of INVALID) await definitions.insertOne({ ...base, name, ...doc });
  for (const { name, reason } of INVALID) {
    const rejected = await rejectedNamed(name);
    assert.is(rejected.kind, "data");
    assert.ok(
      rejected.errors.some((e: string) => reason.test(e)),
      `${name}: ${JSON.stringify(rejected.errors)} should match ${reason}`,
    );
    if (name !== "top-actors") assert.is((await get(`${service.url}/v1/report-definitions/${encodeURIComponent(name)}`)).status, 404);
  }
  // The code report keeps its name; the data report still runs.
  assert.is((await get(`${service.url}/v1/report-definitions/top-actors`)).body.kind, "code");
  const rows = await runReport(service.url, { report_name: "languages-by-movie-count", top: 3 });
  assert.is(rows.length, 3);
  // A request naming a rejected definition is an unknown report.
  assert.is((await post(`${service.url}/v1/reports`, { report_name: "bad-out" })).status, 404);
  await definitions.deleteMany({ name: { $in: INVALID.map((i) => i.name) } });
});

test("saving a definition validates it first; the check route explains without storing", async () => {
  try {
    await service.context.definitionVersions.save({ ...base, name: "bad-save", pipeline: [vote, { $out: "x" }] }, "api");
    assert.unreachable("save accepted $out");
  } catch (error) {
    assert.instance(error, InvalidDefinitionError);
    assert.match((error as Error).message, /\$out is forbidden/);
  }
  assert.is(await definitions.countDocuments({ name: "bad-save" }), 0);

  const checked = await post(`${service.url}/v1/report-definition-checks`, {
    ...base,
    name: "bad-check",
    pipeline: [{ $limit: { $param: "nope" } }],
  });
  assert.is(checked.status, 422);
  assert.is(checked.body.title, "Invalid report definition");
  assert.ok(checked.body.errors.some((e: string) => e.includes('{"$param": "nope"}')));
  const ok = await post(`${service.url}/v1/report-definition-checks`, { ...base, name: "good-check", pipeline: [vote] });
  assert.is(ok.status, 200);
  assert.is(ok.body.report.name, "good-check");
  assert.is(await definitions.countDocuments({ name: { $in: ["bad-check", "good-check"] } }), 0);

  const saved = await service.context.definitionVersions.save(
    {
      ...base,
      name: "saved-through-code",
      pipeline: [vote, { $sort: { title: 1 } }, { $limit: 3 }],
    },
    "api",
  );
  assert.ok(saved.created);
  await whenListed("saved-through-code");
  const rows = await runReport(service.url, { report_name: "saved-through-code", min_votes: 1000 });
  assert.equal(
    rows,
    movies
      .filter((m) => isNumber(m.imdb?.votes) && m.imdb.votes >= 1000)
      .map((m) => ({ title: m.title }))
      .sort((a, b) => byString(a.title, b.title))
      .slice(0, 3),
  );
});

test("a code module dropped into a REPORTS_DIRS folder becomes a report without a restart", async () => {
  mkdirSync(path.join(DROP_DIR, "movies"), { recursive: true });
  const source = `
import { object, optional } from "superstruct";
import { defineReport } from ${JSON.stringify(DEFINE_URL)};
import { numberRange, rangeMatch, matchStage } from ${JSON.stringify(FILTERS_URL)};
export default defineReport({
  name: "movies-per-rated-label",
  collection: "movies",
  description: "Movies per 'rated' label, upper-cased (APPROVED and Approved are one).",
  params: object({ runtime: optional(numberRange()) }),
  pipeline: (p) => [
    ...matchStage({ rated: { $type: "string" } }, rangeMatch("runtime", p.runtime)),
    { $group: { _id: { $toUpper: "$rated" }, movies: { $sum: 1 } } },
    { $sort: { movies: -1, _id: 1 } },
    { $project: { _id: 0, rated: "$_id", movies: 1 } },
  ],
  columns: [{ name: "rated" }, { name: "movies" }],
});
`;
  writeFileSync(path.join(DROP_DIR, "movies", "movies-per-rated-label.js"), source);
  // A broken module next to it is reported, not fatal.
  writeFileSync(path.join(DROP_DIR, "movies", "broken.js"), "export default { name: 'broken' };\n");
  const described = await whenListed("movies-per-rated-label");
  assert.is(described.kind, "code");
  assert.equal(Object.keys(described.parameters.properties), ["runtime"]);

  const rows = await runReport(service.url, { report_name: "movies-per-rated-label", runtime: { $gte: 90 } });
  const counts = new Map<string, number>();
  for (const m of movies) {
    if (typeof m.rated !== "string" || !(m.runtime >= 90)) continue;
    counts.set(m.rated.toUpperCase(), (counts.get(m.rated.toUpperCase()) ?? 0) + 1);
  }
  const expected = rank(
    [...counts].map(([rated, n]) => ({ rated, movies: n })),
    [
      ["movies", -1],
      ["rated", 1],
    ],
  );
  assertRows(rows, expected, "movies-per-rated-label");
  assert.ok(rows.some((r) => r.rated === "APPROVED"));

  const broken = await eventually(async () => {
    const list = await get(`${service.url}/v1/report-definitions`);
    return list.body.rejected.find((r: { kind: string; origin: string }) => r.kind === "code" && r.origin.endsWith("broken.js"));
  }, 10_000);
  assert.match(broken.errors[0], /does not default-export a report/);
  assert.is(broken.origin, "movies/broken.js", "no server path is shown");
});

test.run();
