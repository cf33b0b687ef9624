/**
 * The design document's example requests (the document the service was first described in), sent word for word:
 * each is accepted, runs the matching report under its documented name, and gives the same rows
 * as the canonical request. Aliases are validated like the canonical names, stored as them, and
 * listed in discovery and the OpenAPI document.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import type { Document } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix, readMflix } from "../support/mflix.ts";
import { get, post } from "../support/http.ts";
import { runReport } from "../support/reports.ts";

const test = suite("design document examples");
let mongo: TestMongo;
let service: TestService;
let movies: Document[];
let users: Document[];

test.before(async () => {
  mongo = await startTestMongo("design_examples");
  // No reuse: the alias request and the canonical one must each run.
  service = await startTestService(mongo, { config: { reuseWindowMs: 0 } });
  await loadMflix(service.context.database.db, ["movies", "comments", "users"]);
  movies = await readMflix("movies");
  users = await readMflix("users");
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

/** Real director names from the shipped movies, to fill include/exclude lists. */
function someDirectors(n: number): string[] {
  const names = new Set<string>();
  for (const m of movies) for (const d of m.directors ?? []) names.add(d);
  return [...names].slice(0, n);
}

/** The same rows, and something to compare. */
function assertSameRows(actual: unknown[], canonical: unknown[], label: string): void {
  assert.ok(canonical.length > 0, `${label}: the canonical request has rows`);
  assert.equal(actual, canonical, label);
}

test("POST /v1/movies/directors-per-comments?page=0&page_size=10 with comment_threshold, a time range and directors include/exclude", async () => {
  const directors = someDirectors(300);
  const body = {
    comment_threshold: { $gt: 1, $lt: 500 },
    time_range: { $gt: "1990", $lt: "2021" },
    directors: { include: directors, exclude: directors.slice(0, 3) },
  };
  const submitted = await post(`${service.url}/v1/movies/directors-per-comments?page=0&page_size=10`, body);
  assert.is(submitted.status, 202, JSON.stringify(submitted.body));
  assert.is(submitted.body.report_name, "top-directors-per-comment");
  assert.ok(submitted.headers.get("location")?.endsWith("?page=0&page_size=10"));
  // Stored under the canonical names.
  assert.equal(Object.keys(submitted.body.params).sort(), ["comment_date", "comments", "directors"]);
  const viaAlias = await runReport(service.url, body, { path: "/v1/movies/directors-per-comments" });
  const canonical = await runReport(service.url, {
    report_name: "top-directors-per-comment",
    comments: body.comment_threshold,
    comment_date: body.time_range,
    directors: body.directors,
  });
  assertSameRows(viaAlias, canonical, "directors-per-comments");
  assert.not.ok(
    viaAlias.some((r) => directors.slice(0, 3).includes(r.director)),
    "excluded directors are left out",
  );
});

test('POST /v1/movies/movies-per-rating with rating_threshold {"$gt": 8}, a time range and actors/directors/writors lists', async () => {
  // The shipped subset has no movie rated above 8 after 1990: a time range it covers.
  const body = {
    rating_threshold: { $gt: 8 },
    time_range: { $gt: "1940", $lt: "1990" },
    actors: { exclude: ["Nobody Atall"] },
    directors: { exclude: ["Alfred Hitchcock"] },
    writors: { exclude: ["No Writer (story)"] },
  };
  const viaAlias = await runReport(service.url, body, { path: "/v1/movies/movies-per-rating" });
  const canonical = await runReport(service.url, {
    report_name: "top-movies-per-rating",
    rating: { $gt: 8 },
    released: body.time_range,
    actors: body.actors,
    directors: body.directors,
    writers: body.writors,
  });
  assertSameRows(viaAlias, canonical, "movies-per-rating");
  assert.ok(viaAlias.every((r) => r.rating > 8));
  // The correct spelling works on the alias route too.
  const { writors, ...rest } = body;
  assertSameRows(
    await runReport(service.url, { ...rest, writers: writors }, { path: "/v1/movies/movies-per-rating" }),
    canonical,
    "writers",
  );
});

test('POST /v1/reports {"report_name": "top-directors-per-moving-rating", "movie_released_at": {...}}: rows with name, average_rating, average_screen_playtime', async () => {
  const body = { report_name: "top-directors-per-moving-rating", movie_released_at: { $gt: "1990", $lt: "2021" } };
  const submitted = await post(`${service.url}/v1/reports`, body);
  assert.is(submitted.status, 202, JSON.stringify(submitted.body));
  assert.is(submitted.body.report_name, "top-directors-per-movie-rating", "stored under its documented name");
  assert.equal(Object.keys(submitted.body.params), ["released"]);
  const viaAlias = await runReport(service.url, body);
  const canonical = await runReport(service.url, { report_name: "top-directors-per-movie-rating", released: body.movie_released_at });
  assertSameRows(viaAlias, canonical, "directors by movie rating");
  for (const column of ["name", "average_rating", "average_screen_playtime"]) assert.ok(column in viaAlias[0], column);
});

test('POST /v1/movies-per-rating with "report_name": "top-movies-per-rating" is accepted', async () => {
  const viaAlias = await runReport(service.url, { report_name: "top-movies-per-rating" }, { path: "/v1/movies-per-rating" });
  const canonical = await runReport(service.url, { report_name: "top-movies-per-rating" });
  assertSameRows(viaAlias, canonical, "movies-per-rating");
  // A body naming another report on this route is refused, not silently rerouted.
  const wrong = await post(`${service.url}/v1/movies-per-rating`, { report_name: "top-actors" });
  assert.is(wrong.status, 400);
  assert.ok(
    wrong.body.errors.some((e: { field: string }) => e.field === "report_name"),
    JSON.stringify(wrong.body),
  );
  assert.is((await post(`${service.url}/v1/no-such-route`, {})).status, 404);
});

test("v1/comments/<report-name> and v1/users/<report-name> run the reports declared on those routes", async () => {
  const comments = { comment_date: { $gte: "2010" }, top: 5 };
  assertSameRows(
    await runReport(service.url, comments, { path: "/v1/comments/most-commented-movies" }),
    await runReport(service.url, { report_name: "most-commented-movies", ...comments }),
    "comments route",
  );
  const someUsers = { names: { include: users.slice(0, 2).map((u) => u.name) } };
  assertSameRows(
    await runReport(service.url, someUsers, { path: "/v1/users/users-by-comment-activity" }),
    await runReport(service.url, { report_name: "users-by-comment-activity", ...someUsers }),
    "users route",
  );
});

test("an alias is validated like its canonical name, and giving both is a 400 naming both", async () => {
  const both = await post(`${service.url}/v1/reports`, {
    report_name: "top-movies-per-rating",
    writers: { include: ["x"] },
    writors: { include: ["y"] },
  });
  assert.is(both.status, 400);
  assert.ok(both.body.detail.includes("writers") && both.body.detail.includes("writors"), both.body.detail);
  const bad = await post(`${service.url}/v1/movies/movies-per-rating`, { rating_threshold: { $gt: "high" }, colour: "red" });
  assert.is(bad.status, 400);
  const fields = bad.body.errors.map((e: { field: string }) => e.field).sort();
  assert.equal(fields, ["colour", "rating_threshold.$gt"], JSON.stringify(bad.body.errors));
});

test("discovery and the OpenAPI document list every alias", async () => {
  const description = (await get(`${service.url}/v1/report-definitions/top-directors-per-comment`)).body;
  assert.ok(description.aliases.routes.includes("/v1/movies/directors-per-comments"), JSON.stringify(description.aliases));
  assert.is(description.aliases.parameters.comment_threshold, "comments");
  const movieRating = (await get(`${service.url}/v1/report-definitions/top-directors-per-movie-rating`)).body;
  assert.equal(movieRating.aliases.names, ["top-directors-per-moving-rating"]);
  const byAlias = (await get(`${service.url}/v1/report-definitions/top-directors-per-moving-rating`)).body;
  assert.is(byAlias.name, "top-directors-per-movie-rating", "discovery finds a report by its alias name");
  const document = (await get(`${service.url}/openapi.json`)).body;
  for (const path of [
    "/v1/movies/directors-per-comments",
    "/v1/movies/movies-per-rating",
    "/v1/movies-per-rating",
    "/v1/users/users-by-comment-activity",
  ]) {
    assert.ok(document.paths[path]?.post, `${path} in the document`);
  }
  const request = document.components.schemas["ReportRequest.top-directors-per-movie-rating"];
  assert.ok(request.properties.report_name.enum.includes("top-directors-per-moving-rating"));
  assert.ok(request.properties.movie_released_at, "the parameter alias is a documented property");
  const parameters = document.components.schemas["ReportParameters.top-movies-per-rating"];
  assert.ok(parameters.properties.writors && parameters.properties.rating_threshold);
});

test.run();
