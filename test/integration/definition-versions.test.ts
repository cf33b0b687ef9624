/**
 * Data-defined reports managed through the API, with versions: create → run → change → run →
 * restore → run, each run's rows matching its version (computed independently from the shipped
 * data); an invalid write is refused and changes nothing; a definition edited straight in MongoDB
 * into an invalid state keeps its last good version serving.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import type { Collection, Document } from "mongodb";
import { COLLECTIONS } from "../../src/db.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix, readMflix } from "../support/mflix.ts";
import { get, post, request } from "../support/http.ts";

const test = suite("report definitions: versions through the API");
let mongo: TestMongo;
let service: TestService;
let definitions: Collection<Document>;
let movies: Document[];
const NAME = "movies-per-rated";
const url = (path = "") => `${service.url}/v1/report-definitions/${NAME}${path}`;

test.before(async () => {
  mongo = await startTestMongo("definition_versions");
  // No periodic reload: every change below is served because a write (or the test) reloads.
  service = await startTestService(mongo, { config: { catalogueReloadMs: 0 } });
  definitions = service.context.database.db.collection(COLLECTIONS.definitions);
  await loadMflix(service.context.database.db, ["movies"]);
  movies = await readMflix("movies");
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const group = { $group: { _id: "$rated", movies: { $sum: 1 } } };
const v1 = {
  collection: "movies",
  description: "Movies per MPAA rating class.",
  parameters: { type: "object", properties: {} },
  pipeline: [group],
  columns: [{ name: "_id" }, { name: "movies" }],
  sort: { movies: -1, _id: 1 },
};
/** The change: only movies from 1950 on. */
const v2 = { ...v1, description: "Movies per MPAA rating class, from 1950 on.", pipeline: [{ $match: { year: { $gte: 1950 } } }, group] };

/** What a version's rows must be, computed from the data files without MongoDB. */
function expected(fromYear: number | null): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const movie of movies) {
    if (fromYear !== null && !(typeof movie.year === "number" && movie.year >= fromYear)) continue;
    const key = String(movie.rated ?? null);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Runs the report through the API; returns its rows as rated → count, and the request's recorded version. */
async function run(): Promise<{ rows: Record<string, number>; version: number }> {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: NAME }, { "Cache-Control": "no-cache" });
  assert.is(submitted.status, 202, JSON.stringify(submitted.body));
  let status;
  do status = await get(`${service.url}/v1/reports/${submitted.body.id}?wait=20&page_size=1000`);
  while (!["completed", "error", "cancelled"].includes(status.body.status));
  assert.is(status.body.status, "completed", JSON.stringify(status.body.error));
  const rows: Record<string, number> = {};
  for (const row of status.body.rows) rows[String(row._id ?? null)] = row.movies;
  return { rows, version: status.body.definition_version };
}

test("a write that does not validate is refused with its reasons and changes nothing", async () => {
  const refused = await request(url(), { method: "PUT", json: { ...v1, pipeline: [group, { $out: "stolen" }] } });
  assert.is(refused.status, 422);
  assert.is(refused.headers.get("content-type"), "application/problem+json");
  assert.ok(
    refused.body.errors.some((e: string) => e.includes("$out")),
    JSON.stringify(refused.body.errors),
  );
  const mismatched = await request(url(), { method: "PUT", json: { ...v1, name: "another-name" } });
  assert.is(mismatched.status, 422);
  assert.is((await get(url())).status, 404);
  assert.is((await get(url("/versions"))).status, 404);
  assert.is(await definitions.countDocuments({ name: NAME }), 0);
  const code = await request(`${service.url}/v1/report-definitions/top-movies-per-rating`, { method: "PUT", json: v1 });
  assert.is(code.status, 409);
});

test("create → run → change → run → restore → run: each run's rows match its version", async () => {
  const created = await request(url(), { method: "PUT", json: v1 });
  assert.is(created.status, 201, JSON.stringify(created.body));
  assert.is(created.body.version, 1);
  assert.is(created.body.report.version, 1);
  const first = await run();
  assert.equal(first.rows, expected(null));
  assert.is(first.version, 1);

  const changed = await request(url(), { method: "PUT", json: v2 });
  assert.is(changed.status, 200);
  assert.is(changed.body.version, 2);
  const second = await run();
  assert.equal(second.rows, expected(1950));
  assert.not.equal(second.rows, first.rows, "the two versions must differ on this data");
  assert.is(second.version, 2);

  const restored = await post(url("/versions/1/restore"), {});
  assert.is(restored.status, 200, JSON.stringify(restored.body));
  assert.is(restored.body.version, 3);
  assert.is(restored.body.restored_from, 1);
  const third = await run();
  assert.equal(third.rows, expected(null));
  assert.is(third.version, 3);

  const history = await get(url("/versions"));
  assert.is(history.body.current_version, 3);
  assert.equal(
    history.body.versions.map((v: Record<string, unknown>) => [v.version, v.source, v.restored_from ?? null, v.current]),
    [
      [1, "api", null, false],
      [2, "api", null, false],
      [3, "restore", 1, true],
    ],
  );
  const two = await get(url("/versions/2"));
  assert.is(two.status, 200);
  assert.equal(two.body.definition.pipeline, v2.pipeline);
  assert.is((await get(url("/versions/9"))).status, 404);
  assert.is((await get(url("/versions/zero"))).status, 400);
  assert.is((await get(url())).body.version, 3);
});

test("an invalid edit straight in MongoDB keeps the last good version serving, reported as rejected beside it", async () => {
  await definitions.updateOne({ name: NAME }, { $set: { pipeline: [{ $match: { $where: "sleep(1000)" } }, group] } });
  await service.context.catalogueLoader.refresh(); // what each process does every CATALOGUE_RELOAD_MS
  const discovery = await get(`${service.url}/v1/report-definitions`);
  const rejected = discovery.body.rejected.find((r: { name?: string }) => r.name === NAME);
  assert.ok(rejected, JSON.stringify(discovery.body.rejected));
  assert.is(rejected.serving_version, 3);
  assert.ok(
    rejected.errors.some((e: string) => e.includes("$where")),
    JSON.stringify(rejected.errors),
  );
  assert.ok(discovery.body.reports.some((r: { name: string; version?: number }) => r.name === NAME && r.version === 3));
  const served = await run();
  assert.equal(served.rows, expected(null));
  assert.is(served.version, 3);

  // A valid edit in MongoDB is adopted as a new version of its own.
  await definitions.updateOne({ name: NAME }, { $set: { pipeline: v2.pipeline } });
  await service.context.catalogueLoader.refresh();
  const adopted = await run();
  assert.equal(adopted.rows, expected(1950));
  assert.is(adopted.version, 4);
  const history = await get(url("/versions"));
  assert.equal(history.body.versions.at(-1).source, "manual");
});

test("DELETE retires a definition; its versions stay and a restore brings it back", async () => {
  assert.is((await request(url(), { method: "DELETE" })).status, 204);
  assert.is((await get(url())).status, 404);
  assert.is((await post(`${service.url}/v1/reports`, { report_name: NAME })).status, 404);
  assert.is((await request(url(), { method: "DELETE" })).status, 404);
  assert.is((await get(url("/versions"))).body.versions.length, 4);
  const back = await post(url("/versions/2/restore"), {});
  assert.is(back.status, 201);
  assert.is(back.body.version, 5);
  assert.equal((await run()).rows, expected(1950));
});

test("concurrent first saves: the current definition ends at the newest version, whichever upsert landed first; versions are unique by (name, version)", async () => {
  const versions = service.context.definitionVersions;
  for (let round = 0; round < 5; round++) {
    const name = `racing-${round}`;
    const saves = await Promise.all([0, 1, 2].map((i) => versions.save({ ...v1, name, description: `writer ${i}` }, "api")));
    const newest = Math.max(...saves.map((saved) => saved.version));
    const current = await definitions.findOne({ name });
    assert.is(current?.version, newest, `round ${round}: ${JSON.stringify(saves)}`);
  }
  const db = service.context.database.db;
  const duplicate = { _id: "racing-0@99", name: "racing-0", version: 1, definition: {}, created_at: new Date(), source: "api" };
  await db
    .collection(COLLECTIONS.definitionVersions)
    .insertOne(duplicate as any)
    .then(
      () => assert.unreachable("a second version 1 of racing-0 was stored"),
      (error: { code?: number }) => assert.is(error.code, 11000),
    );
});

test("with access control on, writes need the admin scope; versions need the read scope", async () => {
  const key = "admin-key-for-tests";
  const submitter = "submit-key-for-tests";
  const keyed = await startTestService(mongo, {
    worker: false,
    config: {
      catalogueReloadMs: 0,
      apiKeys: new Map([
        ["admin", { hash: createHash("sha256").update(key).digest("hex"), scopes: ["admin"] as const }],
        ["alice", { hash: createHash("sha256").update(submitter).digest("hex"), scopes: ["read", "submit"] as const }],
      ]),
    },
  });
  try {
    const base = `${keyed.url}/v1/report-definitions/${NAME}`;
    assert.is((await request(base, { method: "PUT", json: v1 })).status, 401);
    assert.is((await request(base, { method: "DELETE" })).status, 401);
    assert.is((await post(`${base}/versions/1/restore`, {})).status, 401);
    assert.is((await request(base, { method: "PUT", json: v1, headers: { Authorization: `Bearer ${submitter}` } })).status, 403);
    assert.is((await get(`${base}/versions`)).status, 401, "versions, retired ones too, are not discovery");
    assert.is((await get(`${base}/versions`, { Authorization: `Bearer ${submitter}` })).status, 200);
    const allowed = await request(base, { method: "PUT", json: v1, headers: { Authorization: `Bearer ${key}` } });
    assert.is(allowed.status, 200, JSON.stringify(allowed.body));
    assert.is(allowed.body.version, 6);
  } finally {
    await keyed.close();
  }
});

test.run();
